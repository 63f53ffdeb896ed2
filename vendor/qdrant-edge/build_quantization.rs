use std::env;

pub fn main() {
    println!("cargo:rerun-if-changed=cpp");
    let mut builder = cc::Build::new();

    let target_arch = env::var("CARGO_CFG_TARGET_ARCH")
        .expect("CARGO_CFG_TARGET_ARCH env-var is not defined or is not UTF-8");

    // TODO: Is `CARGO_CFG_TARGET_FEATURE` *always* defined?
    //
    // Cargo docs says that "boolean configurations are present if they are set,
    // and not present otherwise", so, what about "target features"?
    //
    // https://doc.rust-lang.org/cargo/reference/environment-variables.html (Ctrl-F CARGO_CFG_<cfg>)
    let target_feature = env::var("CARGO_CFG_TARGET_FEATURE")
        .expect("CARGO_CFG_TARGET_FEATURE env-var is not defined or is not UTF-8");

    if target_arch == "x86_64" {
        builder.file("cpp/quantization/sse.c");
        builder.file("cpp/quantization/avx2.c");

        if builder.get_compiler().is_like_msvc() {
            // Only one `/arch:` is effective (last wins). `/arch:AVX2` enables AVX2 and
            // lower ISAs (haswell-equivalent), matching `-march=haswell` below.
            // Passing `/arch:SSE`/`SSE2` after `/arch:AVX2` downgrades the ISA and breaks
            // clang-cl (e.g. cargo-xwin), which requires target features for intrinsics.
            builder.flag("/arch:AVX2");
        } else {
            builder.flag("-march=haswell");
        }

        // O3 optimization level
        builder.flag("-O3");
        // Use popcnt instruction
        builder.flag("-mpopcnt");
    } else if target_arch == "aarch64" && target_feature.split(',').any(|feat| feat == "neon") {
        builder.file("cpp/quantization/neon.c");
        builder.flag("-O3");
    } else {
        // No SIMD sources for this target; nothing to compile.
        return;
    }

    builder.compile("simd_utils_quantization");
}
