//! SQLCipher's page encryption and page MAC with OpenSSL objects made once per connection, and
//! a second page cipher, AES-256-CTR, for the replica.
//!
//! SQLCipher 4.6's OpenSSL provider looks up and builds every OpenSSL object it uses for each
//! page: `EVP_MAC_fetch("HMAC")`, a new MAC context keyed from scratch (two more SHA blocks and a
//! digest fetch), a new cipher context from the legacy `EVP_aes_256_cbc()` handle (another fetch
//! under OpenSSL 3). Measured on this project's machine with the vendored OpenSSL, that set-up
//! costs about 2.4 µs of the ~6.8 µs a 4 KiB page read takes and of the ~13 µs a page write
//! takes (docs/BENCHMARKS.md, issue 13). This provider keeps SQLCipher's own functions for
//! everything else (the KDF, sizes) and replaces the two per-page ones with the same OpenSSL
//! algorithms called through objects fetched once per process and contexts kept per connection;
//! it also draws the random bytes of each page written from a pool per connection
//! (`RandomPool`). SQLCipher's format is unchanged: every byte written is what the default provider
//! writes for the same key and IV (`tests::the_page_functions_match_sqlcipher_s_own`).
//!
//! A connection keyed through `keyed_as(PageCipher::CtrHmac, …)` enciphers its pages with
//! AES-256-CTR instead of CBC, in SQLCipher's page layout otherwise: a random 16-byte IV drawn
//! for every page written, then an HMAC over the ciphertext, the IV and the page number, checked
//! before anything is deciphered (encrypt-then-MAC, as SQLCipher does). CBC encryption is serial,
//! each block waiting for the one before; CTR's blocks are independent and run in parallel on the
//! CPU's AES units, which takes about 3 µs off every page written (docs/BENCHMARKS.md, issue 13).
//! The MAC of a CTR page also covers a constant naming the cipher, so a page of one format never
//! checks out under the other: opening a file with the wrong one fails as a wrong key does, and
//! never deciphers garbage.
//!
//! `PageCipher::CtrGmac`, the replica's format, keeps those CTR pages and replaces the HMAC-SHA256
//! (then most of a page's cost: SHA-256 runs at about a quarter of AES-CTR's speed here) with
//! GMAC, AES-256-GCM's authenticator computed over the same bytes as associated data, under
//! SQLCipher's MAC key, with the page's random IV as GCM's nonce (`page_gmac`). A tag is then
//! as strong as GCM's: forging one needs the MAC key, and the nonce, 128 random bits per page
//! written, repeats with the same negligible chance as a CTR counter block. Only this provider
//! reads the CTR formats; the stock `sqlcipher` shell does not.
//!
//! The contexts hold the keys SQLCipher already holds for the connection's life (the expanded
//! AES key, the keyed HMAC state, a copy of the MAC key to tell a new key from the last); they
//! are cleansed and freed with the connection's codec.
//!
//! SQLCipher frees the registered provider and falls back to its default when its last keyed
//! connection closes, so `install` keeps one keyed in-memory connection open for the process's
//! life. Should anything here fail, the default provider stays for SQLCipher's format (slower,
//! never different), and `keyed_as` refuses the CTR format.

use rusqlite::Connection;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use openssl_sys::{
    EVP_CIPHER_CTX_ctrl, EVP_CIPHER_CTX_free, EVP_CIPHER_CTX_new, EVP_CIPHER_CTX_set_padding,
    EVP_CIPHER_fetch, EVP_CipherInit_ex, EVP_CipherUpdate, EVP_MAC_CTX_free, EVP_MAC_CTX_new,
    EVP_MAC_fetch, EVP_MAC_final, EVP_MAC_init, EVP_MAC_update, OSSL_PARAM_construct_end,
    EVP_CIPHER, EVP_CIPHER_CTX, EVP_CTRL_GCM_GET_TAG, EVP_CTRL_GCM_SET_IVLEN, EVP_MAC, EVP_MAC_CTX,
    OSSL_PARAM,
};

/// The name `PRAGMA cipher_provider` reports for connections that use this provider.
pub const PROVIDER_NAME: &str = "openssl (objects made once per connection)";
const PROVIDER_NAME_C: &CStr = c"openssl (objects made once per connection)";

/// The SQLCipher release whose provider struct `Provider` copies.
const KNOWN_SQLCIPHER: &str = "4.6.";

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
const SQLITE_NOMEM: c_int = 7;

/// How a connection's pages are enciphered, chosen when it is keyed (`keyed_as`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageCipher {
    /// SQLCipher's own format, AES-256-CBC: the bytes its default provider writes, a file any
    /// SQLCipher 4 opens with the same settings. What a connection keyed any other way gets.
    SqlcipherCbc,
    /// AES-256-CTR in SQLCipher's page layout, under SQLCipher's HMAC bound to the cipher's
    /// name; only this provider reads it (see the crate's documentation). The replica's format
    /// of 2026-12-07, now read only to be converted.
    CtrHmac,
    /// AES-256-CTR pages authenticated by GMAC instead of HMAC; only this provider reads it (see
    /// the crate's documentation). The replica's format.
    CtrGmac,
}

impl PageCipher {
    fn is_ctr(self) -> bool {
        matches!(self, PageCipher::CtrHmac | PageCipher::CtrGmac)
    }
}

/// Appended to what a CTR page's HMAC covers, so that it differs from a CBC page's for the same
/// bytes: a file opened with the other cipher fails its first page's check.
const CTR_MAC_DOMAIN: &[u8] = b"switchboard page-crypto: AES-256-CTR";

/// Appended to what a GMAC page's tag covers, for the same reason.
const GMAC_DOMAIN: &[u8] = b"switchboard page-crypto: AES-256-CTR, GMAC";

/// GMAC's tag; the rest of SQLCipher's MAC slot (32 bytes with HMAC-SHA256's size) is zeros.
const GMAC_TAG_SIZE: usize = 16;

/// The IV SQLCipher stores with each page, the last bytes of the input its MAC covers.
const PAGE_IV_SIZE: usize = 16;

thread_local! {
    /// The cipher of the codec SQLCipher makes next on this thread (`ctx_init`).
    static KEYING_AS: Cell<PageCipher> = const { Cell::new(PageCipher::SqlcipherCbc) };
}

/// The provider is not registered (SQLCipher is not the release it was written against), so a
/// connection cannot be keyed in a CTR format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotInstalled;

impl std::fmt::Display for NotInstalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this build's SQLCipher is not {KNOWN_SQLCIPHER}x, whose provider the page cipher \
             was written against: the replica's AES-256-CTR pages cannot be read"
        )
    }
}

impl std::error::Error for NotInstalled {}

/// Runs `keying` — a `PRAGMA key`, or an `ATTACH … KEY`, where SQLCipher makes the codec of the
/// database keyed — so that the codec enciphers its pages with `cipher`. A codec made later on
/// the same connection without a key of its own (a `VACUUM`'s temporary database) uses
/// SQLCipher's format for that file alone. `PRAGMA cipher` names the cipher a codec uses. Only
/// the CTR formats need the provider, so only they install it: SQLCipher's CBC is keyed through
/// whichever provider is registered (its own, when nothing called `install`).
pub fn keyed_as<T>(cipher: PageCipher, keying: impl FnOnce() -> T) -> Result<T, NotInstalled> {
    if cipher.is_ctr() && !install() {
        return Err(NotInstalled);
    }
    struct Restore(PageCipher);
    impl Drop for Restore {
        fn drop(&mut self) {
            KEYING_AS.with(|k| k.set(self.0));
        }
    }
    let _restore = Restore(KEYING_AS.with(|k| k.replace(cipher)));
    Ok(keying())
}

// SQLCipher's HMAC algorithm numbers (`SQLCIPHER_HMAC_SHA*`).
const HMAC_SHA1: c_int = 0;
const HMAC_SHA256: c_int = 1;
const HMAC_SHA512: c_int = 2;

type CtxFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type NameFn = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type RandomFn = unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int;
type HmacFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
) -> c_int;
type KdfFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const u8,
    c_int,
    *mut u8,
    c_int,
    c_int,
    c_int,
    *mut u8,
) -> c_int;
type CipherFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *mut u8,
    c_int,
    *mut u8,
    *mut u8,
    c_int,
    *mut u8,
) -> c_int;
type SizeFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type CtxInitFn = unsafe extern "C" fn(*mut *mut c_void) -> c_int;

/// SQLCipher 4.6's `sqlcipher_provider`, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct Provider {
    activate: Option<CtxFn>,
    deactivate: Option<CtxFn>,
    get_provider_name: Option<NameFn>,
    add_random: Option<RandomFn>,
    random: Option<RandomFn>,
    hmac: Option<HmacFn>,
    kdf: Option<KdfFn>,
    cipher: Option<CipherFn>,
    get_cipher: Option<NameFn>,
    get_key_sz: Option<CtxFn>,
    get_iv_sz: Option<CtxFn>,
    get_block_sz: Option<CtxFn>,
    get_hmac_sz: Option<SizeFn>,
    ctx_init: Option<CtxInitFn>,
    ctx_free: Option<CtxInitFn>,
    fips_status: Option<CtxFn>,
    get_provider_version: Option<NameFn>,
}

extern "C" {
    fn sqlcipher_register_provider(provider: *mut Provider) -> c_int;
    fn sqlcipher_get_provider() -> *mut Provider;
    fn EVP_CipherFinal_ex(ctx: *mut EVP_CIPHER_CTX, out: *mut u8, outl: *mut c_int) -> c_int;
    fn OSSL_PARAM_construct_utf8_string(
        key: *const c_char,
        buf: *mut c_char,
        bsize: usize,
    ) -> OSSL_PARAM;
}

/// What `install` found and made: SQLCipher's own provider, whose functions the replacements
/// fall back to, and the process's fetched algorithms (thread-safe, never freed).
struct Installed {
    default: Provider,
    aes_256_cbc: *mut EVP_CIPHER,
    aes_256_ctr: *mut EVP_CIPHER,
    aes_256_gcm: *mut EVP_CIPHER,
    hmac: *mut EVP_MAC,
}

// SAFETY: the four OpenSSL objects are fetched algorithm descriptions, immutable and documented
// as shareable between threads; `default` holds function pointers only.
unsafe impl Send for Installed {}
unsafe impl Sync for Installed {}

/// Set before the provider is registered, so that a connection keyed on another thread the
/// moment it is finds it.
static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Whether the provider was registered; decided once per process.
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the provider, once per process; every keyed connection opened afterwards uses it.
/// Returns whether it is registered (`false`: SQLCipher's default stays).
pub fn install() -> bool {
    // SAFETY: runs once; see `register`.
    *REGISTERED.get_or_init(|| unsafe { register() }.is_some())
}

/// # Safety
/// Called once, through `REGISTERED`; touches SQLCipher's provider registry as its API allows
/// while one keyed connection (the anchor) keeps SQLCipher active.
unsafe fn register() -> Option<()> {
    // Keying a connection activates SQLCipher, which registers its default provider; the anchor
    // stays open so that SQLCipher never deactivates and frees the provider registered below.
    let anchor = Connection::open_in_memory().ok()?;
    anchor
        .execute_batch(&format!("PRAGMA key = \"x'{}'\";", "00".repeat(32)))
        .ok()?;
    // `Provider` is SQLCipher 4.6's struct; another version may lay it out differently, and
    // then the default stays (a test fails, asking for this file to be checked against it).
    let version: String = anchor
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .ok()?;
    if !version.starts_with(KNOWN_SQLCIPHER) {
        return None;
    }
    let current = sqlcipher_get_provider();
    if current.is_null() {
        return None;
    }
    let default = *current;
    let aes_256_cbc = EVP_CIPHER_fetch(
        std::ptr::null_mut(),
        c"AES-256-CBC".as_ptr(),
        std::ptr::null(),
    );
    let aes_256_ctr = EVP_CIPHER_fetch(
        std::ptr::null_mut(),
        c"AES-256-CTR".as_ptr(),
        std::ptr::null(),
    );
    let aes_256_gcm = EVP_CIPHER_fetch(
        std::ptr::null_mut(),
        c"AES-256-GCM".as_ptr(),
        std::ptr::null(),
    );
    let hmac = EVP_MAC_fetch(std::ptr::null_mut(), c"HMAC".as_ptr(), std::ptr::null());
    if aes_256_cbc.is_null()
        || aes_256_ctr.is_null()
        || aes_256_gcm.is_null()
        || hmac.is_null()
        || default.ctx_init.is_none()
    {
        return None;
    }
    // SQLCipher frees a replaced provider with `sqlite3_free`, so it is allocated by SQLite.
    let ours =
        rusqlite::ffi::sqlite3_malloc64(std::mem::size_of::<Provider>() as u64).cast::<Provider>();
    if ours.is_null() {
        return None;
    }
    ours.write(Provider {
        get_provider_name: Some(provider_name),
        get_cipher: Some(cipher_name),
        random: Some(random),
        hmac: Some(page_hmac),
        cipher: Some(page_cipher),
        ctx_init: Some(ctx_init),
        ctx_free: Some(ctx_free),
        ..default
    });
    if INSTALLED
        .set(Installed {
            default,
            aes_256_cbc,
            aes_256_ctr,
            aes_256_gcm,
            hmac,
        })
        .is_err()
    {
        return None;
    }
    if sqlcipher_register_provider(ours) != SQLITE_OK {
        return None;
    }
    std::mem::forget(anchor);
    Some(())
}

fn installed() -> &'static Installed {
    // The replacements are reachable only through a provider registered after this was set.
    INSTALLED
        .get()
        .expect("the page crypto provider is set up before it is registered")
}

/// Random bytes drawn ahead for one connection's page writes. SQLCipher draws a fresh IV (and the
/// rest of a page's reserve) for every page it writes, and OpenSSL's `RAND_bytes` costs about
/// 1.3 µs a call whatever its length, under a process-wide mutex SQLCipher adds; drawn 4 KiB at a
/// time, that falls to a copy. The bytes are handed out once each, in order, and are no secret
/// (IVs and salts are stored in the clear). A forked child must not hand out its parent's bytes
/// again, so a pool drawn in another process is drawn anew.
struct RandomPool {
    bytes: Box<[u8; RANDOM_POOL_SIZE]>,
    next: usize,
    drawn_by: u32,
}

const RANDOM_POOL_SIZE: usize = 4096;

impl RandomPool {
    fn empty() -> RandomPool {
        RandomPool {
            bytes: Box::new([0; RANDOM_POOL_SIZE]),
            next: RANDOM_POOL_SIZE,
            drawn_by: 0,
        }
    }

    /// Fills `out` from the pool, drawing the pool anew through `draw` when it runs short.
    fn take(&mut self, out: &mut [u8], draw: impl FnOnce(&mut [u8]) -> bool) -> bool {
        if out.len() > RANDOM_POOL_SIZE {
            return draw(out);
        }
        let pid = std::process::id();
        if self.drawn_by != pid || self.next + out.len() > RANDOM_POOL_SIZE {
            if !draw(&mut self.bytes[..]) {
                self.next = RANDOM_POOL_SIZE;
                return false;
            }
            self.next = 0;
            self.drawn_by = pid;
        }
        let taken = &mut self.bytes[self.next..self.next + out.len()];
        out.copy_from_slice(taken);
        taken.fill(0);
        self.next += out.len();
        true
    }
}

/// One connection's OpenSSL contexts, and the MAC key its MAC context holds.
struct Contexts {
    random: RandomPool,
    /// Chosen when the codec was made; fixed for its life.
    page_cipher: PageCipher,
    cipher: *mut EVP_CIPHER_CTX,
    /// The HMAC, for every codec but a GMAC one.
    mac: *mut EVP_MAC_CTX,
    /// AES-256-GCM, which computes a GMAC codec's tags.
    gmac: *mut EVP_CIPHER_CTX,
    /// (algorithm, key) the MAC context (`gmac` for a GMAC codec) was last keyed with; wiped
    /// when replaced or freed.
    mac_key: Option<(c_int, Vec<u8>)>,
}

impl Contexts {
    fn forget_mac_key(&mut self) {
        if let Some((_, mut key)) = self.mac_key.take() {
            wipe(&mut key);
        }
    }
}

impl Drop for Contexts {
    fn drop(&mut self) {
        self.forget_mac_key();
        // SAFETY: all three were made by `ctx_init` for this context alone and are freed once
        // here; freeing a cipher context cleanses its key schedule.
        unsafe {
            EVP_CIPHER_CTX_free(self.cipher);
            EVP_CIPHER_CTX_free(self.gmac);
            EVP_MAC_CTX_free(self.mac);
        }
    }
}

/// Zeroes key material about to be freed, with volatile writes so the compiler cannot drop
/// them; the replica's key texts use it too.
pub fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

unsafe extern "C" fn provider_name(_ctx: *mut c_void) -> *const c_char {
    PROVIDER_NAME_C.as_ptr()
}

/// What `PRAGMA cipher` reports: a CTR codec's cipher, else SQLCipher's own answer.
unsafe extern "C" fn cipher_name(ctx: *mut c_void) -> *const c_char {
    match ctx.cast::<Contexts>().as_ref().map(|c| c.page_cipher) {
        Some(PageCipher::CtrHmac) => c"AES-256-CTR".as_ptr(),
        Some(PageCipher::CtrGmac) => c"AES-256-CTR/GMAC".as_ptr(),
        _ => installed()
            .default
            .get_cipher
            .map_or(c"AES-256-CBC".as_ptr(), |name| name(ctx)),
    }
}

/// SQLCipher's own set-up (it counts OpenSSL users), then this connection's contexts.
unsafe extern "C" fn ctx_init(ctx: *mut *mut c_void) -> c_int {
    let installed = installed();
    let rc = installed
        .default
        .ctx_init
        .map_or(SQLITE_OK, |init| init(ctx));
    if rc != SQLITE_OK {
        return rc;
    }
    let page_cipher = KEYING_AS.with(Cell::get);
    let cipher = EVP_CIPHER_CTX_new();
    let mac = EVP_MAC_CTX_new(installed.hmac);
    let gmac = EVP_CIPHER_CTX_new();
    if cipher.is_null() || mac.is_null() || gmac.is_null() {
        EVP_CIPHER_CTX_free(cipher);
        EVP_CIPHER_CTX_free(gmac);
        EVP_MAC_CTX_free(mac);
        // A null context makes the page functions use SQLCipher's own, which write CBC pages:
        // a CTR codec must not be made at all then.
        *ctx = std::ptr::null_mut();
        return if page_cipher.is_ctr() {
            SQLITE_NOMEM
        } else {
            SQLITE_OK
        };
    }
    *ctx = Box::into_raw(Box::new(Contexts {
        random: RandomPool::empty(),
        page_cipher,
        cipher,
        mac,
        gmac,
        mac_key: None,
    }))
    .cast();
    SQLITE_OK
}

unsafe extern "C" fn ctx_free(ctx: *mut *mut c_void) -> c_int {
    if !(*ctx).is_null() {
        drop(Box::from_raw((*ctx).cast::<Contexts>()));
        *ctx = std::ptr::null_mut();
    }
    installed()
        .default
        .ctx_free
        .map_or(SQLITE_OK, |free| free(ctx))
}

/// `length` random bytes into `buffer`, from the connection's pool (`RandomPool`).
unsafe extern "C" fn random(ctx: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
    let default = installed()
        .default
        .random
        .expect("SQLCipher's provider has a random source");
    let (Some(contexts), Ok(len)) = (ctx.cast::<Contexts>().as_mut(), usize::try_from(length))
    else {
        return default(ctx, buffer, length);
    };
    if buffer.is_null() {
        return SQLITE_ERROR;
    }
    let out = std::slice::from_raw_parts_mut(buffer.cast::<u8>(), len);
    // SQLCipher's own call (RAND_bytes under its mutex) fills the pool; it ignores the context.
    let drawn = contexts.random.take(out, |pool| {
        default(
            std::ptr::null_mut(),
            pool.as_mut_ptr().cast(),
            pool.len() as c_int,
        ) == SQLITE_OK
    });
    if drawn {
        SQLITE_OK
    } else {
        SQLITE_ERROR
    }
}

fn digest(algorithm: c_int) -> Option<(&'static CStr, usize)> {
    match algorithm {
        HMAC_SHA1 => Some((c"SHA1", 20)),
        HMAC_SHA256 => Some((c"SHA256", 32)),
        HMAC_SHA512 => Some((c"SHA512", 64)),
        _ => None,
    }
}

/// HMAC of `input` then `input2` (when not null) into `out`, as SQLCipher's provider computes it,
/// then, for a CTR codec, of `CTR_MAC_DOMAIN`.
unsafe extern "C" fn page_hmac(
    ctx: *mut c_void,
    algorithm: c_int,
    key: *mut u8,
    key_size: c_int,
    input: *mut u8,
    input_size: c_int,
    input2: *mut u8,
    input2_size: c_int,
    out: *mut u8,
) -> c_int {
    let Some(contexts) = ctx.cast::<Contexts>().as_mut() else {
        let default = installed()
            .default
            .hmac
            .expect("SQLCipher's provider has an HMAC");
        return default(
            ctx,
            algorithm,
            key,
            key_size,
            input,
            input_size,
            input2,
            input2_size,
            out,
        );
    };
    let (Some((name, size)), Ok(key_len)) = (digest(algorithm), usize::try_from(key_size)) else {
        return SQLITE_ERROR;
    };
    if input.is_null() || key.is_null() {
        return SQLITE_ERROR;
    }
    let key = std::slice::from_raw_parts(key, key_len);
    let keyed = matches!(&contexts.mac_key, Some((a, k)) if *a == algorithm && k.as_slice() == key);
    if contexts.page_cipher == PageCipher::CtrGmac {
        let Ok(input_len) = usize::try_from(input_size) else {
            return SQLITE_ERROR;
        };
        let input = std::slice::from_raw_parts(input, input_len);
        let input2 = (!input2.is_null())
            .then(|| std::slice::from_raw_parts(input2, input2_size.max(0) as usize));
        let out = std::slice::from_raw_parts_mut(out, size);
        return if page_gmac(
            contexts,
            (algorithm, key),
            keyed,
            [input, input2.unwrap_or(&[])],
            out,
        ) {
            SQLITE_OK
        } else {
            contexts.forget_mac_key();
            SQLITE_ERROR
        };
    }
    let ok = if keyed {
        // HMAC keeps its key across inits: a null key starts a new MAC under the same one.
        EVP_MAC_init(contexts.mac, std::ptr::null(), 0, std::ptr::null()) == 1
    } else {
        contexts.forget_mac_key();
        let mut digest_name = [0u8; 8];
        digest_name[..name.to_bytes().len()].copy_from_slice(name.to_bytes());
        let params = [
            OSSL_PARAM_construct_utf8_string(
                c"digest".as_ptr(),
                digest_name.as_mut_ptr().cast(),
                0,
            ),
            OSSL_PARAM_construct_end(),
        ];
        let ok = EVP_MAC_init(contexts.mac, key.as_ptr(), key.len(), params.as_ptr()) == 1;
        if ok {
            contexts.mac_key = Some((algorithm, key.to_vec()));
        }
        ok
    };
    let mut written = 0usize;
    let ok = ok
        && EVP_MAC_update(contexts.mac, input, input_size as usize) == 1
        && (input2.is_null() || EVP_MAC_update(contexts.mac, input2, input2_size as usize) == 1)
        && (contexts.page_cipher != PageCipher::CtrHmac
            || EVP_MAC_update(contexts.mac, CTR_MAC_DOMAIN.as_ptr(), CTR_MAC_DOMAIN.len()) == 1)
        && EVP_MAC_final(contexts.mac, out, &mut written, size) == 1
        && written == size;
    if ok {
        SQLITE_OK
    } else {
        contexts.forget_mac_key();
        SQLITE_ERROR
    }
}

/// A GMAC codec's page MAC: AES-256-GCM's tag over no plaintext and, as associated data, the
/// ciphertext and IV (`inputs[0]`), the page number (`inputs[1]`) and `GMAC_DOMAIN`, under the
/// MAC key SQLCipher derives for the file, with the page's IV — the last bytes of `inputs[0]`,
/// fresh and random for every page written — as GCM's 16-byte nonce. The tag fills the first
/// 16 bytes of SQLCipher's MAC slot (`out`, sized by its HMAC algorithm), zeros the rest; SQLCipher
/// compares the whole slot. GHASH runs on the CPU's carry-less multiply at a fraction of
/// SHA-256's cost per byte (docs/BENCHMARKS.md, issue 13).
///
/// # Safety
/// `contexts.gmac` is the live context `ctx_init` made.
unsafe fn page_gmac(
    contexts: &mut Contexts,
    (algorithm, key): (c_int, &[u8]),
    keyed: bool,
    inputs: [&[u8]; 2],
    out: &mut [u8],
) -> bool {
    if inputs[0].len() < PAGE_IV_SIZE || out.len() < GMAC_TAG_SIZE || key.len() != 32 {
        return false;
    }
    let gcm = contexts.gmac;
    let null = std::ptr::null_mut::<u8>();
    if !keyed {
        contexts.forget_mac_key();
        // The key schedule and GHASH's key are made here once; each page then sets its IV only.
        let ok = EVP_CipherInit_ex(
            gcm,
            installed().aes_256_gcm,
            std::ptr::null_mut(),
            null,
            null,
            1,
        ) == 1
            && EVP_CIPHER_CTX_ctrl(
                gcm,
                EVP_CTRL_GCM_SET_IVLEN,
                PAGE_IV_SIZE as c_int,
                null.cast(),
            ) == 1
            && EVP_CipherInit_ex(
                gcm,
                std::ptr::null(),
                std::ptr::null_mut(),
                key.as_ptr(),
                null,
                1,
            ) == 1;
        if !ok {
            return false;
        }
        contexts.mac_key = Some((algorithm, key.to_vec()));
    }
    let iv = &inputs[0][inputs[0].len() - PAGE_IV_SIZE..];
    let mut written: c_int = 0;
    let mut ok = EVP_CipherInit_ex(
        gcm,
        std::ptr::null(),
        std::ptr::null_mut(),
        null,
        iv.as_ptr(),
        1,
    ) == 1;
    for associated in [inputs[0], inputs[1], GMAC_DOMAIN] {
        let Ok(len) = c_int::try_from(associated.len()) else {
            return false;
        };
        ok = ok
            && (len == 0
                || EVP_CipherUpdate(gcm, null, &mut written, associated.as_ptr(), len) == 1);
    }
    let mut nothing = [0u8; 16];
    ok = ok
        && EVP_CipherFinal_ex(gcm, nothing.as_mut_ptr(), &mut written) == 1
        && written == 0
        && EVP_CIPHER_CTX_ctrl(
            gcm,
            EVP_CTRL_GCM_GET_TAG,
            GMAC_TAG_SIZE as c_int,
            out.as_mut_ptr().cast(),
        ) == 1;
    out[GMAC_TAG_SIZE..].fill(0);
    ok
}

/// AES-256-CBC without padding, or AES-256-CTR for a CTR codec, of `size` bytes (`mode` 1
/// encrypts, 0 decrypts).
unsafe extern "C" fn page_cipher(
    ctx: *mut c_void,
    mode: c_int,
    key: *mut u8,
    key_size: c_int,
    iv: *mut u8,
    input: *mut u8,
    size: c_int,
    out: *mut u8,
) -> c_int {
    let Some(contexts) = ctx.cast::<Contexts>().as_mut() else {
        let default = installed()
            .default
            .cipher
            .expect("SQLCipher's provider has a cipher");
        return default(ctx, mode, key, key_size, iv, input, size, out);
    };
    let cipher = contexts.cipher;
    let algorithm = match contexts.page_cipher {
        PageCipher::SqlcipherCbc => installed().aes_256_cbc,
        PageCipher::CtrHmac | PageCipher::CtrGmac => installed().aes_256_ctr,
    };
    let (mut updated, mut finished) = (0 as c_int, 0 as c_int);
    let ok = EVP_CipherInit_ex(cipher, algorithm, std::ptr::null_mut(), key, iv, mode) == 1
        && EVP_CIPHER_CTX_set_padding(cipher, 0) == 1
        && EVP_CipherUpdate(cipher, out, &mut updated, input, size) == 1
        && EVP_CipherFinal_ex(cipher, out.add(updated as usize), &mut finished) == 1
        && updated + finished == size;
    if ok {
        SQLITE_OK
    } else {
        SQLITE_ERROR
    }
}

#[cfg(test)]
mod tests;
