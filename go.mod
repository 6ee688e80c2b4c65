module github.com/ukiboot/ukiboot

go 1.24
