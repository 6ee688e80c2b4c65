module github.com/ukiboot/ukiboot

go 1.24.13

require golang.org/x/sys v0.36.0 // indirect
