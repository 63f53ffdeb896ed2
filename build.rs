//! Compiles the vendored multilingual-e5 engine (native/e5, MIT) into the
//! binary. No OpenMP: the engine runs single-threaded per call and Holdfast
//! parallelises across calls itself (see src/embed/engine.rs).
//!
//! The AVX2 fast path is used when the target enables AVX2, or when building
//! natively on a host that has AVX2+FMA+F16C (the usual `./run` case); the
//! AVX-512 VNNI matmul likewise where the CPU has it (and AVX512_BF16
//! attention where it has that too). Set
//! HOLDFAST_E5_PORTABLE=1 to build the portable scalar path for other CPUs.

fn main() {
    println!("cargo:rerun-if-changed=native/e5/e5.c");
    println!("cargo:rerun-if-changed=native/e5/e5.h");
    println!("cargo:rerun-if-env-changed=HOLDFAST_E5_PORTABLE");

    let mut build = cc::Build::new();
    build
        .file("native/e5/e5.c")
        .include("native/e5")
        .opt_level(3)
        .flag_if_supported("-std=gnu11")
        .warnings(false);
    if use_avx2() {
        build.flag("-mavx2").flag("-mfma").flag("-mf16c");
        // The 4-bit matmul's VNNI kernel (a whole text 2.7 times as fast as
        // with AVX2 alone) where the CPU has AVX-512 VNNI: same rule as for
        // AVX2 (target features, or a native build on such a host).
        if use_avx512_vnni() {
            build
                .flag("-mavx512f")
                .flag("-mavx512bw")
                .flag("-mavx512vl")
                .flag("-mavx512dq")
                .flag("-mavx512vnni");
            // Attention's bf16 dot products where the CPU has AVX512_BF16
            // (about a sixth faster on long chunks).
            if use_feature("avx512bf16") {
                build.flag("-mavx512bf16");
            }
        }
    }
    build.compile("e5");
    println!("cargo:rustc-link-lib=m");
}

fn use_avx2() -> bool {
    if std::env::var_os("HOLDFAST_E5_PORTABLE").is_some_and(|v| v == "1") {
        return false;
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86_64" {
        return false;
    }
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let enabled = |f: &str| features.split(',').any(|x| x == f);
    if enabled("avx2") && enabled("fma") && enabled("f16c") {
        return true;
    }
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    native && host_has_avx2()
}

fn use_avx512_vnni() -> bool {
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let enabled = |f: &str| features.split(',').any(|x| x == f);
    if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vnni"]
        .iter()
        .all(|f| enabled(f))
    {
        return true;
    }
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    native && host_has_avx512_vnni()
}

/// A target feature that is enabled, or that a native build's host has.
fn use_feature(name: &str) -> bool {
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if features.split(',').any(|x| x == name) {
        return true;
    }
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    native && host_has(name)
}

#[cfg(target_arch = "x86_64")]
fn host_has(name: &str) -> bool {
    match name {
        "avx512bf16" => std::arch::is_x86_feature_detected!("avx512bf16"),
        _ => false,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has(_name: &str) -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn host_has_avx512_vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_avx512_vnni() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn host_has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_avx2() -> bool {
    false
}
