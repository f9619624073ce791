// OpenSSL's libcrypto (Debian: libssl-dev): SHA-256, which uses the CPU's SHA extensions where it has
// them. The one-shot-context API (SHA256_Init/Update/Final) is deprecated in OpenSSL 3 but kept and
// documented; its context is a plain struct, so a Swift hasher stays a value type.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
