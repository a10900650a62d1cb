//! SQLCipher's page encryption and page MAC with OpenSSL objects made once per connection.
//!
//! SQLCipher 4.6's OpenSSL provider looks up and builds every OpenSSL object it uses for each
//! page: `EVP_MAC_fetch("HMAC")`, a new MAC context keyed from scratch (two more SHA blocks and a
//! digest fetch), a new cipher context from the legacy `EVP_aes_256_cbc()` handle (another fetch
//! under OpenSSL 3). Measured on this project's machine with the vendored OpenSSL, that set-up
//! costs about 2.4 µs of the ~6.8 µs a 4 KiB page read takes and of the ~13 µs a page write
//! takes (docs/BENCHMARKS.md, issue 13). This provider keeps SQLCipher's own functions for
//! everything else (random IVs, the KDF, sizes) and replaces the two per-page ones with the same
//! OpenSSL algorithms called through objects fetched once per process and contexts kept per
//! connection. The file format is unchanged: every byte written is what the default provider
//! writes for the same key and IV (`tests::the_page_functions_match_sqlcipher_s_own`).
//!
//! The contexts hold the keys SQLCipher already holds for the connection's life (the expanded
//! AES key, the keyed HMAC state, a copy of the MAC key to tell a new key from the last); they
//! are cleansed and freed with the connection's codec.
//!
//! SQLCipher frees the registered provider and falls back to its default when its last keyed
//! connection closes, so `install` keeps one keyed in-memory connection open for the process's
//! life. Should anything here fail, the default provider stays: slower, never different.

use rusqlite::Connection;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use openssl_sys::{
    EVP_CIPHER_CTX_free, EVP_CIPHER_CTX_new, EVP_CIPHER_CTX_set_padding, EVP_CIPHER_fetch,
    EVP_CipherInit_ex, EVP_CipherUpdate, EVP_MAC_CTX_free, EVP_MAC_CTX_new, EVP_MAC_fetch,
    EVP_MAC_final, EVP_MAC_init, EVP_MAC_update, OSSL_PARAM_construct_end, EVP_CIPHER,
    EVP_CIPHER_CTX, EVP_MAC, EVP_MAC_CTX, OSSL_PARAM,
};

/// The name `PRAGMA cipher_provider` reports for connections that use this provider.
pub const PROVIDER_NAME: &str = "openssl (objects made once per connection)";
const PROVIDER_NAME_C: &CStr = c"openssl (objects made once per connection)";

/// The SQLCipher release whose provider struct `Provider` copies.
const KNOWN_SQLCIPHER: &str = "4.6.";

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;

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
    hmac: *mut EVP_MAC,
}

// SAFETY: the two OpenSSL objects are fetched algorithm descriptions, immutable and documented
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
    let hmac = EVP_MAC_fetch(std::ptr::null_mut(), c"HMAC".as_ptr(), std::ptr::null());
    if aes_256_cbc.is_null() || hmac.is_null() || default.ctx_init.is_none() {
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

/// One connection's OpenSSL contexts, and the MAC key its MAC context holds.
struct Contexts {
    cipher: *mut EVP_CIPHER_CTX,
    mac: *mut EVP_MAC_CTX,
    /// (algorithm, key) the MAC context was last keyed with; wiped when replaced or freed.
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
        // SAFETY: both were made by `ctx_init` for this context alone and are freed once here.
        unsafe {
            EVP_CIPHER_CTX_free(self.cipher);
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
    let cipher = EVP_CIPHER_CTX_new();
    let mac = EVP_MAC_CTX_new(installed.hmac);
    if cipher.is_null() || mac.is_null() {
        EVP_CIPHER_CTX_free(cipher);
        EVP_MAC_CTX_free(mac);
        // A null context makes the page functions use SQLCipher's own.
        *ctx = std::ptr::null_mut();
        return SQLITE_OK;
    }
    *ctx = Box::into_raw(Box::new(Contexts {
        cipher,
        mac,
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

fn digest(algorithm: c_int) -> Option<(&'static CStr, usize)> {
    match algorithm {
        HMAC_SHA1 => Some((c"SHA1", 20)),
        HMAC_SHA256 => Some((c"SHA256", 32)),
        HMAC_SHA512 => Some((c"SHA512", 64)),
        _ => None,
    }
}

/// HMAC of `input` then `input2` (when not null) into `out`, as SQLCipher's provider computes it.
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
        && EVP_MAC_final(contexts.mac, out, &mut written, size) == 1
        && written == size;
    if ok {
        SQLITE_OK
    } else {
        contexts.forget_mac_key();
        SQLITE_ERROR
    }
}

/// AES-256-CBC without padding of `size` bytes (`mode` 1 encrypts, 0 decrypts).
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
    let (mut updated, mut finished) = (0 as c_int, 0 as c_int);
    let ok = EVP_CipherInit_ex(
        cipher,
        installed().aes_256_cbc,
        std::ptr::null_mut(),
        key,
        iv,
        mode,
    ) == 1
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
