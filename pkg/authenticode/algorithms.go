package authenticode

import (
	"crypto"
	"slices"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// NeededAlgorithms returns the Authenticode digest algorithms that Verify
// needs to decide on f with store, in Algorithms order, so that a caller
// hashes the image with these only (NewHasher, Digests) instead of all
// three. They are the union of
//
//   - the digest algorithm of every signature in f's certificate table
//     (Verify refuses an image with a signature whose digest was not
//     computed: it could be a revoked one);
//   - every algorithm of an image hash in db or dbx (EFI_CERT_SHA256,
//     SHA384, SHA512 entries), so that no image hash stops allowing or
//     revoking; certificates and TBS hashes need no image digest;
//   - SHA-256, always: an unsigned image is then still found by its
//     digest, and there is a digest to report.
//
// The table is parsed by the same code as Verify's, from f (read with
// uki.Read: the headers are enough, the table is read from the file's
// end). When it or a signature in it cannot be parsed, the error says
// the Reason Verify gives in that case, whatever the digests: the caller
// can return &Verdict{Status: Untrusted, Reason: err.Error()} without
// hashing. No algorithm is returned with an error.
//
// Verify must run on the bytes that were hashed: when those are a copy
// of f made after this call, and the copy's table names an algorithm
// that was not computed, Verify says Untrusted (fail closed).
func NeededAlgorithms(f *uki.File, store *Store) ([]crypto.Hash, error) {
	sigs, err := signatures(f)
	if err != nil {
		return nil, err
	}
	return neededAlgorithms(sigs, store), nil
}

// neededAlgorithms is NeededAlgorithms for the parsed signatures sigs.
// Without a store every algorithm is needed.
func neededAlgorithms(sigs []*Signature, store *Store) []crypto.Hash {
	if store == nil {
		return slices.Clone(Algorithms)
	}
	need := map[crypto.Hash]bool{crypto.SHA256: true}
	for _, s := range sigs {
		need[s.DigestAlgorithm] = true
	}
	for _, l := range []*List{store.DB, store.DBX} {
		for _, a := range l.imageHashAlgorithms() {
			need[a] = true
		}
	}
	var out []crypto.Hash
	for _, a := range Algorithms {
		if need[a] {
			out = append(out, a)
		}
	}
	return out
}

// imageHashAlgorithms returns, in Algorithms order, the algorithms of
// the image hashes in l: those of the image digests that an entry of l
// could match. ImageHashes holds hex, so an entry can only be equal to
// the digest of the algorithm whose size is half its length.
func (l *List) imageHashAlgorithms() []crypto.Hash {
	if l == nil {
		return nil
	}
	var out []crypto.Hash
	for _, a := range Algorithms {
		for h := range l.ImageHashes {
			if len(h) == 2*a.Size() {
				out = append(out, a)
				break
			}
		}
	}
	return out
}
