// swift-tools-version:6.0
// tlsh — mechanistic interpretability for transformer language models.
// Dependency direction (see docs/ARCHITECTURE.md):
//   TLCore <- TLTensor <- TLModel, TLTokenizer, TLHub <- TLInterp <- TLLang <- TLRepl, TLKernel <- tlsh
// Each C library is wrapped by one system-library target and imported by exactly one Swift module.
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

        // tlsh's own C kernels (small-row GEMM, causal attention, element-wise), one build per x86-64
        // level picked at load time; imported by TLTensor only.
        .target(name: "TLKernels"),

        // Swift modules.
        .target(name: "TLCore"),
        .target(name: "TLTensor", dependencies: ["TLCore", "CBLAS", "TLKernels"]),
        .target(name: "TLModel", dependencies: ["TLCore", "TLTensor"]),
        .target(name: "TLTokenizer", dependencies: ["TLCore"]),
        .target(name: "TLHub", dependencies: ["TLCore"], resources: [.copy("Resources/DefaultModel"), .copy("Resources/SAEReleases")]),
        .target(name: "TLInterp", dependencies: ["TLCore", "TLTensor", "TLModel", "TLTokenizer", "TLHub"]),
        .target(name: "TLRender", dependencies: ["TLCore", "CZlib", "CFreeType"]),
        .target(name: "TLLang", dependencies: ["TLCore", "TLTensor", "TLModel", "TLTokenizer", "TLHub", "TLInterp", "TLRender"]),
        .target(name: "TLRepl", dependencies: ["TLCore", "TLLang", "CEdit"]),
        .target(name: "TLKernel", dependencies: ["TLCore", "CZMQ", "TLLang", "TLRender"]),
        .executableTarget(name: "tlsh", dependencies: ["TLCore", "TLTensor", "TLLang", "TLRepl", "TLKernel", "TLTokenizer", "TLHub", "TLInterp"]),

        .testTarget(name: "TLCoreTests", dependencies: ["TLCore"]),
        .testTarget(name: "TLTensorTests", dependencies: ["TLTensor"]),
        .target(name: "TLTestSupport", dependencies: ["TLModel", "TLTensor"], path: "Tests/TLTestSupport"),
        .testTarget(name: "TLModelTests", dependencies: ["TLModel", "TLTensor", "TLTestSupport"]),
        .testTarget(name: "TLTokenizerTests", dependencies: ["TLTokenizer"]),
        .testTarget(name: "TLHubTests", dependencies: ["TLHub", "TLCore", "TLTestSupport"]),
        .testTarget(name: "TLInterpTests", dependencies: ["TLInterp", "TLModel", "TLTensor", "TLTokenizer", "TLTestSupport"]),
        .testTarget(name: "TLRenderTests", dependencies: ["TLRender"], exclude: ["Reference"]),
        .testTarget(name: "TLLangTests", dependencies: ["TLLang", "TLTestSupport"]),
        .testTarget(name: "TLKernelTests", dependencies: ["TLKernel", "TLCore"]),
        .testTarget(name: "TLReplTests", dependencies: ["TLRepl", "TLLang"]),
        .testTarget(name: "TLFuzzTests", dependencies: ["TLModel", "TLTensor", "TLTokenizer", "TLLang", "TLKernel", "TLCore"]),
    ],
    swiftLanguageModes: [.v6]
)
