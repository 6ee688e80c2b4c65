// Package kexec loads a kernel with kexec_file_load(2) and reboots into it,
// and explains the kernel's refusals in words a person can act on.
//
// kexec is Linux-only: on other systems the package is empty.
package kexec
