use super::*;
use proptest::prelude::*;

/// A provider context of each kind: this module's, and SQLCipher's own (which takes none).
struct Pair {
    ours: *mut c_void,
}

impl Pair {
    fn new() -> Pair {
        assert!(install(), "the provider registers");
        let mut ours = std::ptr::null_mut();
        // SAFETY: `ctx_init` writes the context it makes into `ours`, freed in `drop`.
        assert_eq!(unsafe { ctx_init(&mut ours) }, SQLITE_OK);
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

/// A connection to `path` keyed with `key` in the replica's format, as the store keys one.
fn keyed(path: &std::path::Path, key: u8) -> Connection {
    install();
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256; \
         PRAGMA cipher_log_level = NONE;",
        format!("{key:02x}").repeat(32)
    ))
    .unwrap();
    conn
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
