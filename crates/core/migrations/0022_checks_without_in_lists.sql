-- SQLite checks `x IN ('a', 'b', 'c')` — three values or more — by building a temporary b-tree of
-- the list each time a statement runs the check: about 2 µs on every follow-up and lead written,
-- a tenth of a bulk first sync's apply (issue 14). The same constraints as chains of `=`, which
-- it compares in place. SQLite's own procedure for changing a CHECK constraint without copying
-- the table (lang_altertable.html, "Making Other Kinds Of Table Schema Changes"): edit the
-- table's text in `sqlite_schema`, then bump `schema_version` in the same transaction, which the
-- migration runner does after every migration. The rows already
-- stored satisfy the new text, since it is the same constraint.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (channel IN (''email'', ''phone'', ''mail''))',
                     'CHECK (channel = ''email'' OR channel = ''phone'' OR channel = ''mail'')')
 WHERE type = 'table' AND name = 'follow_up';
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (status IN (''new'', ''working'', ''closed'', ''erased''))',
                     'CHECK (status = ''new'' OR status = ''working'' OR status = ''closed''
                             OR status = ''erased'')')
 WHERE type = 'table' AND name = 'lead';
PRAGMA writable_schema = OFF;
