// swift-tools-version:6.0
// tlsh — mechanistic interpretability for transformer language models.
// Dependency direction (see docs/ARCHITECTURE.md):
//   TLTensor <- TLModel <- TLInterp <- TLLang <- TLRepl, TLJupyter <- tlsh; TLCore (crypto, safe writes,
//   JSON) <- TLModel, TLTokenizer, TLHub, TLLang, TLJupyter; TLRender stands alone; TLTools <- tlsh.
// Each C library is wrapped by one system-library target and imported by exactly one Swift module.
// Declared dependencies equal each target's imports: tools/checks/imports.py checks it in CI.
import PackageDescription

let package = Package(
    name: "tlsh",
    products: [
        .executable(name: "tlsh", targets: ["tlsh"]),
    ],
    targets: [
        // C libraries (Debian packages named in `providers`; .ci/run installs them).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CEdit", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CFreeType", pkgConfig: "freetype2", providers: [.apt(["libfreetype-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // tlsh's own C kernels (small-row GEMM, causal attention, element-wise), one build per x86-64
        // level picked at load time; imported by TLTensor only.
        .target(name: "TLKernels"),

        // Swift modules.
        .target(name: "TLCore", dependencies: ["CCrypto"]),
        .target(name: "TLTensor", dependencies: ["CBLAS", "TLKernels"]),
        .target(name: "TLModel", dependencies: ["TLCore", "TLTensor", "CZlib"]),
        .target(name: "TLTokenizer", dependencies: ["TLCore"]),
        .target(name: "TLHub", dependencies: ["TLCore"], resources: [.copy("Resources/DefaultModel"), .copy("Resources/SAEReleases")]),
        .target(name: "TLInterp", dependencies: ["TLCore", "TLTensor", "TLModel"], resources: [.copy("Resources/tlsh_nnsight_worker.py")]),
        .target(name: "TLRender", dependencies: ["CZlib", "CFreeType"]),
        .target(name: "TLLang", dependencies: ["TLCore", "TLTensor", "TLModel", "TLTokenizer", "TLHub", "TLInterp", "TLRender"]),
        .target(name: "TLRepl", dependencies: ["TLLang", "TLRender", "CEdit"]),
        .target(name: "TLJupyter", dependencies: ["TLCore", "CZMQ", "TLLang", "TLRender"]),
        // Tool subcommands (tlsh tokenize, tlsh bench, tlsh bench-plot): the executable's only way past the language.
        .target(name: "TLTools", dependencies: ["TLCore", "TLHub", "TLInterp", "TLRender", "TLTensor", "TLTokenizer"]),
        .executableTarget(name: "tlsh", dependencies: ["TLLang", "TLRepl", "TLJupyter", "TLTools"]),

        .testTarget(name: "TLCoreTests", dependencies: ["TLCore"]),
        .testTarget(name: "TLTensorTests", dependencies: ["TLTensor"]),
        .target(name: "TLTestSupport", dependencies: ["TLModel", "TLTensor"], path: "Tests/TLTestSupport"),
        .testTarget(name: "TLModelTests", dependencies: ["TLModel", "TLTensor", "TLTestSupport"]),
        .testTarget(name: "TLTokenizerTests", dependencies: ["TLCore", "TLTokenizer"]),
        .testTarget(name: "TLHubTests", dependencies: ["TLHub", "TLCore", "TLTestSupport"]),
        .testTarget(name: "TLInterpTests", dependencies: ["TLCore", "TLInterp", "TLModel", "TLTensor", "TLTestSupport"]),
        .testTarget(name: "TLRenderTests", dependencies: ["TLRender"], exclude: ["Reference"]),
        .testTarget(name: "TLLangTests", dependencies: ["TLLang", "TLHub", "TLInterp", "TLModel", "TLTensor", "TLTestSupport"]),
        .testTarget(name: "TLJupyterTests", dependencies: ["TLJupyter"]),
        .testTarget(name: "TLToolsTests", dependencies: ["TLTools"], exclude: ["Fixtures"]),
        .testTarget(name: "TLReplTests", dependencies: ["TLRepl", "TLLang", "TLRender"]),
        .testTarget(name: "TLFuzzTests", dependencies: ["TLModel", "TLTensor", "TLTokenizer", "TLLang", "TLJupyter"]),
    ],
    swiftLanguageModes: [.v6]
)
