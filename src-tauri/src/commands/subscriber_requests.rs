//! Commands for the lead page actions (edit, correct, erase, access export) and the requests inbox.
