package ukitest

import "math/rand/v2"

// Noise is n reproducible, incompressible bytes: the ChaCha8 stream of
// seed. Tests use it for kernels and initrds that must differ from one
// another and must not compress.
func Noise(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}
