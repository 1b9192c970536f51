module github.com/consentry/consentry/client

go 1.26.0
