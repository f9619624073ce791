/// The version shown by `tlsh --version` and the kernel's language_info.
public enum TLSHVersion {
    public static let string = "0.1.0"
}
