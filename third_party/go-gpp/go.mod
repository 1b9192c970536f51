module github.com/prebid/go-gpp

go 1.16

require github.com/stretchr/testify v1.12.1
