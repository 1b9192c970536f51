module github.com/prebid/go-gdpr

go 1.13

// Version v0.9.0 was accidentally tagged as v1.9.0.
retract v1.9.0
