use super::*;
use proptest::prelude::*;

/// A provider context of each kind: this module's, and SQLCipher's own (which takes none).
struct Pair {
    ours: *mut c_void,
}

impl Pair {
    /// This module's context as a codec keyed as SQLCipher's CBC is; `with` for another cipher.
    fn new() -> Pair {
        Pair::with(PageCipher::SqlcipherCbc)
    }

    fn with(cipher: PageCipher) -> Pair {
        assert!(install(), "the provider registers");
        let mut ours = std::ptr::null_mut();
        // SAFETY: `ctx_init` writes the context it makes into `ours`, freed in `drop`.
        let rc = keyed_as(cipher, || unsafe { ctx_init(&mut ours) }).unwrap();
        assert_eq!(rc, SQLITE_OK);
        assert!(!ours.is_null(), "this module's contexts were made");
        Pair { ours }
    }

    fn hmac(
        &self,
        algorithm: c_int,
        key: &[u8],
        input: &[u8],
        input2: Option<&[u8]>,
    ) -> [Vec<u8>; 2] {
        let size = digest(algorithm).unwrap().1;
        let default = installed().default.hmac.unwrap();
        let mut key = key.to_vec();
        let mut input = input.to_vec();
        let mut input2 = input2.map(<[u8]>::to_vec);
        let (input2_ptr, input2_len) = input2.as_mut().map_or((std::ptr::null_mut(), 0), |i| {
            (i.as_mut_ptr(), i.len() as c_int)
        });
        let mut outs = [vec![0u8; size], vec![0u8; size]];
        for (out, ctx) in outs.iter_mut().zip([self.ours, std::ptr::null_mut()]) {
            // SAFETY: every pointer is a live buffer of the length passed beside it; `out`
            // holds the digest's size; a null context is what SQLCipher's own provider takes.
            let rc = unsafe {
                let f: HmacFn = if ctx.is_null() { default } else { page_hmac };
                f(
                    ctx,
                    algorithm,
                    key.as_mut_ptr(),
                    key.len() as c_int,
                    input.as_mut_ptr(),
                    input.len() as c_int,
                    input2_ptr,
                    input2_len,
                    out.as_mut_ptr(),
                )
            };
            assert_eq!(rc, SQLITE_OK);
        }
        outs
    }

    fn cipher(&self, mode: c_int, key: &[u8; 32], iv: &[u8; 16], input: &[u8]) -> [Vec<u8>; 2] {
        let default = installed().default.cipher.unwrap();
        let mut outs = [vec![0u8; input.len()], vec![0u8; input.len()]];
        for (out, ctx) in outs.iter_mut().zip([self.ours, std::ptr::null_mut()]) {
            let (mut key, mut iv, mut input) = (*key, *iv, input.to_vec());
            // SAFETY: live buffers of the lengths passed; `out` is as long as `input`.
            let rc = unsafe {
                let f: CipherFn = if ctx.is_null() { default } else { page_cipher };
                f(
                    ctx,
                    mode,
                    key.as_mut_ptr(),
                    32,
                    iv.as_mut_ptr(),
                    input.as_mut_ptr(),
                    input.len() as c_int,
                    out.as_mut_ptr(),
                )
            };
            assert_eq!(rc, SQLITE_OK);
        }
        outs
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // SAFETY: made by `ctx_init` in `new`, freed once.
        unsafe { ctx_free(&mut self.ours) };
    }
}

fn algorithm() -> impl Strategy<Value = c_int> {
    prop_oneof![Just(HMAC_SHA1), Just(HMAC_SHA256), Just(HMAC_SHA512)]
}

/// A page's worth of bytes as SQLCipher hands them over: a multiple of AES's block, up to 64 KiB.
fn page() -> impl Strategy<Value = Vec<u8>> {
    (1usize..=64).prop_flat_map(|blocks| proptest::collection::vec(any::<u8>(), blocks * 16 * 4))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same bytes as SQLCipher's own provider for any key, IV and page, in both directions,
    /// and for MACs keyed in any order (the context keeps its last key, so a run of MACs under
    /// a few keys and algorithms takes both the kept-key and the new-key paths).
    #[test]
    fn the_page_functions_match_sqlcipher_s_own(
        key in any::<[u8; 32]>(),
        iv in any::<[u8; 16]>(),
        data in page(),
        macs in proptest::collection::vec((algorithm(), 0usize..3, any::<bool>()), 1..12),
        mac_keys in any::<[[u8; 32]; 3]>(),
    ) {
        let pair = Pair::new();
        for mode in [1, 0] {
            let [ours, theirs] = pair.cipher(mode, &key, &iv, &data);
            prop_assert_eq!(ours, theirs, "mode {}", mode);
        }
        let [encrypted, _] = pair.cipher(1, &key, &iv, &data);
        let [decrypted, _] = pair.cipher(0, &key, &iv, &encrypted);
        prop_assert_eq!(&decrypted, &data);
        for (algorithm, which, second) in macs {
            let pgno = 7u32.to_le_bytes();
            let [ours, theirs] =
                pair.hmac(algorithm, &mac_keys[which], &data, second.then_some(&pgno[..]));
            prop_assert_eq!(ours, theirs, "algorithm {} key {}", algorithm, which);
        }
    }
}

/// A connection to `path` keyed with `key` through this provider in SQLCipher's own page format.
fn keyed(path: &std::path::Path, key: u8) -> Connection {
    install();
    keyed_with(path, key, PageCipher::SqlcipherCbc)
}

fn provider(conn: &Connection) -> String {
    conn.query_row("PRAGMA cipher_provider", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn keyed_connections_use_the_provider_after_every_other_one_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyed.db");
    let conn = keyed(&path, 7);
    assert_eq!(provider(&conn), PROVIDER_NAME);
    drop(conn);
    // No keyed connection of this test is open now: the anchor keeps the provider registered.
    let conn = keyed(&path, 7);
    assert_eq!(provider(&conn), PROVIDER_NAME);
}

#[test]
fn a_file_written_through_the_provider_reads_back_and_refuses_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    {
        let conn = keyed(&path, 7);
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t(x TEXT); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO t SELECT printf('row %d of the provider test', i) FROM n;",
        )
        .unwrap();
    }
    let conn = keyed(&path, 7);
    let count: i64 = conn
        .query_row(
            "SELECT count(*) FROM t WHERE x LIKE 'row % of the provider test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(count, 5000);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes.windows(8).any(|w| w == b"provider"),
        "no plaintext in the file"
    );
    let wrong = keyed(&path, 8);
    assert!(wrong
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
        .is_err());
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// NIST SP 800-38A, F.5.5 and F.5.6 (CTR-AES256): the CTR codec's cipher is AES-256-CTR with the
/// page's IV as the initial counter block, independent of OpenSSL's own word for it.
#[test]
fn the_ctr_cipher_is_aes_256_ctr_by_nist_s_vectors() {
    let key: [u8; 32] = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
        .try_into()
        .unwrap();
    let iv: [u8; 16] = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").try_into().unwrap();
    let plain = hex(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
         30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
    );
    let enciphered = hex(
        "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5\
         2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6",
    );
    let ctr = Pair::with(PageCipher::CtrHmac);
    assert_eq!(ctr.cipher(1, &key, &iv, &plain)[0], enciphered);
    assert_eq!(ctr.cipher(0, &key, &iv, &enciphered)[0], plain);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A CTR codec's pages decipher to what was enciphered, under keys and IVs that change from
    /// one page to the next as they do in a file; its MAC is SQLCipher's HMAC-SHA256 of the same
    /// bytes followed by the domain constant, so it never equals a CBC page's MAC.
    #[test]
    fn ctr_pages_round_trip_and_their_mac_names_the_cipher(
        pages in proptest::collection::vec(
            (any::<[u8; 32]>(), any::<[u8; 16]>(), page(), any::<u32>()), 1..6),
    ) {
        // Each call runs this module's CTR codec and, beside it, SQLCipher's own (CBC) functions.
        let ctr = Pair::with(PageCipher::CtrHmac);
        for (key, iv, data, pgno) in &pages {
            let [enciphered, cbc] = ctr.cipher(1, key, iv, data);
            prop_assert_ne!(&enciphered, data);
            prop_assert_ne!(&enciphered, &cbc);
            prop_assert_eq!(&ctr.cipher(0, key, iv, &enciphered)[0], data);

            let pgno = pgno.to_le_bytes();
            let [mac, cbc_mac] = ctr.hmac(HMAC_SHA256, key, &enciphered, Some(&pgno));
            prop_assert_ne!(&mac, &cbc_mac);
            let with_domain = [&pgno[..], CTR_MAC_DOMAIN].concat();
            let [_, sqlcipher_s] = ctr.hmac(HMAC_SHA256, key, &enciphered, Some(&with_domain));
            prop_assert_eq!(&mac, &sqlcipher_s);
        }
    }
}

/// A connection to `path` keyed with `key` as `cipher` in the replica's settings.
fn keyed_with(path: &std::path::Path, key: u8, cipher: PageCipher) -> Connection {
    let conn = Connection::open(path).unwrap();
    keyed_as(cipher, || {
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256; \
             PRAGMA cipher_log_level = NONE;",
            format!("{key:02x}").repeat(32)
        ))
    })
    .unwrap()
    .unwrap();
    conn
}

fn reads(conn: &Connection) -> bool {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .is_ok()
}

#[test]
fn a_file_of_each_page_format_reads_back_only_in_its_own() {
    let dir = tempfile::tempdir().unwrap();
    const ALL: [PageCipher; 3] = [
        PageCipher::SqlcipherCbc,
        PageCipher::CtrHmac,
        PageCipher::CtrGmac,
    ];
    for (cipher, name) in ALL
        .into_iter()
        .zip(["AES-256-CBC", "AES-256-CTR", "AES-256-CTR/GMAC"])
    {
        let path = dir.path().join(format!("{cipher:?}.db"));
        {
            let conn = keyed_with(&path, 7, cipher);
            let reported: String = conn.query_row("PRAGMA cipher", [], |r| r.get(0)).unwrap();
            assert_eq!(reported, name);
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t(x TEXT); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
                 INSERT INTO t SELECT printf('row %d of the cipher test', i) FROM n;",
            )
            .unwrap();
        }
        let conn = keyed_with(&path, 7, cipher);
        let count: i64 = conn
            .query_row(
                "SELECT count(*) FROM t WHERE x LIKE 'row % of the cipher test'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(count, 3000, "{name}");
        drop(conn);
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"cipher"),
            "no plaintext in {name}"
        );
        for other in ALL.into_iter().filter(|&c| c != cipher) {
            assert!(
                !reads(&keyed_with(&path, 7, other)),
                "{name} under {other:?}"
            );
        }
        assert!(
            !reads(&keyed_with(&path, 8, cipher)),
            "{name} under another key"
        );
    }
}

#[test]
fn the_random_pool_hands_each_byte_out_once_and_draws_anew_in_a_forked_child() {
    let mut pool = RandomPool::empty();
    let draws = Cell::new(0);
    let counter = Cell::new(0u8);
    let draw = |bytes: &mut [u8]| {
        draws.set(draws.get() + 1);
        for b in bytes.iter_mut() {
            counter.set(counter.get().wrapping_add(1));
            *b = counter.get();
        }
        true
    };
    // 48 bytes a page, as SQLCipher asks: 85 pages from one draw of 4 KiB, the 86th draws anew.
    let mut seen = Vec::new();
    for _ in 0..86 {
        let mut out = [0u8; 48];
        assert!(pool.take(&mut out, draw));
        seen.push(out);
    }
    assert_eq!(draws.get(), 2);
    assert_ne!(seen[84], seen[85]);
    assert!(
        pool.bytes[..pool.next].iter().all(|&b| b == 0),
        "handed-out bytes are cleared"
    );
    // A pool drawn by another process (what a fork leaves) is drawn again before any use.
    pool.drawn_by = pool.drawn_by.wrapping_add(1);
    let mut out = [0u8; 48];
    assert!(pool.take(&mut out, draw));
    assert_eq!(draws.get(), 3);
    assert_eq!(pool.drawn_by, std::process::id());
    // More than a pool's worth goes straight to the source; a failed draw is an error.
    let mut big = vec![0u8; RANDOM_POOL_SIZE + 1];
    assert!(pool.take(&mut big, draw));
    assert_eq!(draws.get(), 4);
    assert!(!RandomPool::empty().take(&mut out, |_| false));
}

/// Every IV in a CTR file and its WAL — one per page written — is different: the pool never
/// hands the same bytes out twice, so no counter block (nor GMAC nonce) is used twice under the
/// key.
#[test]
fn every_page_written_to_a_ctr_file_has_its_own_iv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ivs.db");
    let conn = keyed_with(&path, 9, PageCipher::CtrGmac);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t(x TEXT);",
    )
    .unwrap();
    for i in 0..300 {
        conn.execute("INSERT INTO t VALUES (printf('%0500d', ?1))", [i])
            .unwrap();
    }
    const PAGE: usize = 4096;
    const IV_AT: usize = PAGE - 48;
    let wal = std::fs::read(dir.path().join("ivs.db-wal")).unwrap();
    let db = std::fs::read(&path).unwrap();
    let mut ivs: Vec<&[u8]> = wal[32..]
        .chunks_exact(24 + PAGE)
        .map(|frame| &frame[24 + IV_AT..24 + IV_AT + 16])
        .collect();
    let frames = ivs.len();
    ivs.extend(db.chunks_exact(PAGE).map(|page| &page[IV_AT..IV_AT + 16]));
    assert!(frames >= 300, "one commit per insert: {frames} frames");
    let total = ivs.len();
    ivs.sort_unstable();
    ivs.dedup();
    assert_eq!(ivs.len(), total, "an IV was used twice");
}

/// A `VACUUM` builds the file anew through a temporary database keyed by SQLCipher itself,
/// outside `keyed_as`; the pages copied back are the main database's codec's, so the file stays
/// in its CTR format and reads back whole.
#[test]
fn a_vacuumed_ctr_file_stays_ctr_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vacuumed.db");
    let conn = keyed_with(&path, 5, PageCipher::CtrGmac);
    conn.execute_batch(
        "CREATE TABLE t(x TEXT); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
         INSERT INTO t SELECT printf('vacuumed row %d', i) FROM n; \
         DELETE FROM t WHERE rowid % 2 = 0; VACUUM;",
    )
    .unwrap();
    drop(conn);
    let conn = keyed_with(&path, 5, PageCipher::CtrGmac);
    let cipher: String = conn.query_row("PRAGMA cipher", [], |r| r.get(0)).unwrap();
    assert_eq!(cipher, "AES-256-CTR/GMAC");
    let count: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1000);
    assert!(!reads(&keyed_with(&path, 5, PageCipher::SqlcipherCbc)));
    assert!(!reads(&keyed_with(&path, 5, PageCipher::CtrHmac)));
}

/// A GMAC codec's page MAC for one input of each part, as an independent implementation of
/// AES-256-GCM computes it (Python's `cryptography`, `AESGCM(key).encrypt(iv, b"", aad)` with
/// `aad` = the input, the page number and the domain constant): the tag, then zeros to fill
/// HMAC-SHA256's slot.
#[test]
fn the_gmac_page_mac_is_aes_256_gcm_s_tag_over_the_page() {
    let key: Vec<u8> = (0..32).collect();
    let data = hex(
        "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc\
         e3eaf1f8ff060d141b222930373e454c",
    );
    let iv = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    let input = [data, iv].concat();
    let gmac = Pair::with(PageCipher::CtrGmac);
    let [mac, _] = gmac.hmac(HMAC_SHA256, &key, &input, Some(&5u32.to_le_bytes()));
    let expected = [hex("4fe1701306ee3f6adb685e99739004a9"), vec![0; 16]].concat();
    assert_eq!(mac, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// GMAC pages decipher to what was enciphered; a tag depends on every byte it covers, the
    /// page number and the key, is the same each time it is computed under a kept key, and is
    /// never SQLCipher's HMAC of the same bytes.
    #[test]
    fn gmac_pages_round_trip_and_their_tag_covers_every_byte(
        pages in proptest::collection::vec(
            (any::<[u8; 32]>(), any::<[u8; 16]>(), page(), any::<u32>(), any::<prop::sample::Index>()),
            1..6),
    ) {
        let gmac = Pair::with(PageCipher::CtrGmac);
        for (key, iv, data, pgno, flip) in &pages {
            let [enciphered, _] = gmac.cipher(1, key, iv, data);
            prop_assert_eq!(&gmac.cipher(0, key, iv, &enciphered)[0], data);

            let input = [&enciphered[..], &iv[..]].concat();
            let number = pgno.to_le_bytes();
            let [tag, hmac] = gmac.hmac(HMAC_SHA256, key, &input, Some(&number));
            prop_assert_ne!(&tag, &hmac);
            prop_assert!(tag[GMAC_TAG_SIZE..].iter().all(|&b| b == 0));
            prop_assert_eq!(&gmac.hmac(HMAC_SHA256, key, &input, Some(&number))[0], &tag);

            let mut flipped = input.clone();
            flipped[flip.index(input.len())] ^= 1;
            prop_assert_ne!(&gmac.hmac(HMAC_SHA256, key, &flipped, Some(&number))[0], &tag);
            let other_page = pgno.wrapping_add(1).to_le_bytes();
            prop_assert_ne!(&gmac.hmac(HMAC_SHA256, key, &input, Some(&other_page))[0], &tag);
            let mut other_key = *key;
            other_key[0] ^= 1;
            prop_assert_ne!(&gmac.hmac(HMAC_SHA256, &other_key, &input, Some(&number))[0], &tag);
        }
    }
}

/// A page of a GMAC file changed on disk — one bit of its ciphertext, its IV, its tag or the zeros
/// after the tag — is refused when read, never deciphered into other rows, and
/// `PRAGMA cipher_integrity_check` names it; the untouched file reads back whole.
#[test]
fn a_tampered_gmac_page_is_refused_and_named_by_the_integrity_check() {
    const PAGE: usize = 4096;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tampered.db");
    {
        let conn = keyed_with(&path, 3, PageCipher::CtrGmac);
        conn.execute_batch(
            "CREATE TABLE t(x TEXT); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO t SELECT printf('tamper row %d', i) FROM n;",
        )
        .unwrap();
    }
    let original = std::fs::read(&path).unwrap();
    let count =
        |conn: &Connection| conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0));
    assert_eq!(
        count(&keyed_with(&path, 3, PageCipher::CtrGmac)).unwrap(),
        1000
    );
    // Page 3 (a leaf of `t`): a byte of its ciphertext, of its IV, of its tag, of the zeros.
    for at in [2 * PAGE + 100, 3 * PAGE - 48, 3 * PAGE - 32, 3 * PAGE - 8] {
        let mut bytes = original.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let conn = keyed_with(&path, 3, PageCipher::CtrGmac);
        assert!(
            count(&conn).is_err(),
            "a flipped bit at byte {at} read back"
        );
        let failures: Vec<String> = conn
            .prepare("PRAGMA cipher_integrity_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            failures.iter().any(|f| f.contains("page 3")),
            "byte {at}: {failures:?}"
        );
    }
}
