// Package doccheck holds the test that keeps the repository's documentation
// self-contained: every document a comment, string or page cites is in the repository,
// every cited section exists, and every relative link of a Markdown page resolves.
package doccheck
