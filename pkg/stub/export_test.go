package stub

import "github.com/ukiboot/ukiboot/pkg/bls"

// File is what Build needs of a file it opens.
type File = file

// BuildOpening is Build with the files named by the entry opened by open,
// so that tests can see what is read.
func BuildOpening(e *bls.Entry, pol Policy, open func(name string) (File, error)) (*Plan, error) {
	return build(e, pol, open)
}
