# Writes ${LIB}.sha256: the SHA-256 of ${LIB}.
file(SHA256 "${LIB}" hash)
file(WRITE "${LIB}.sha256" "${hash}\n")
