package doccheck

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// scanned says which files are read: source, configuration and documentation.
func scanned(name string) bool {
	switch filepath.Ext(name) {
	case ".go", ".md", ".yaml", ".yml", ".json", ".sql", ".sh", ".tpl", ".txt", ".avsc", ".toml":
		return true
	}
	return name == "Makefile" || name == "Dockerfile"
}

// skippedDirs are never read: version control, build output and run data.
var skippedDirs = map[string]bool{".git": true, ".data": true, "bin": true, "node_modules": true}

// forbidden are citations of documents that live outside the repository (the product
// brief the project started from). Built from pieces so that this file does not match.
var forbidden = []*regexp.Regexp{
	regexp.MustCompile(`\b` + "DESI" + `GN\b`),
	// "vendors.md" alone, not a page such as docs/vendors/manual.md.
	regexp.MustCompile(`(?:^|[^\w/-])vendors` + `\.md`),
	regexp.MustCompile(`kafka-postgres` + `-notes`),
	regexp.MustCompile(`STYLE` + `\.md`),
	regexp.MustCompile(`privacy-policy` + `\.txt`),
	regexp.MustCompile(`\.\./` + `shared\b`),
	regexp.MustCompile(`/work` + `/shared`),
}

var (
	// A § must follow the name of the document it numbers, earlier on the same line: a
	// public standard or law (RFC 9110 §10.2.3, CCPA Regs. §7026) or a page of the
	// repository (docs/kafka-postgres.md §7).
	sectionSign = regexp.MustCompile(`§\s*\d`)
	namedBefore = regexp.MustCompile(`RFC \d+|CCPA|Regs\.|Code|\.md`)
	// docs/kafka-postgres.md §N, §N–§M, §N and §M: each N must be a numbered section.
	kpCitation = regexp.MustCompile(`kafka-postgres\.md,? §(\d+)((?:\s*(?:–|-|and|,)\s*§\d+)*)`)
	kpMore     = regexp.MustCompile(`§(\d+)`)
	kpHeading  = regexp.MustCompile(`(?m)^## (\d+)\. `)
	// docs/architecture.md, guarantee N: N must be one of the stated guarantees.
	guaranteeCitation = regexp.MustCompile(`(?i)guarantee (\d+)`)
	guaranteeHeading  = regexp.MustCompile(`(?m)^### Guarantee (\d+):`)
	// A repository path under docs/ named in any file.
	docPath = regexp.MustCompile(`(?:^|[^\w/.-])(docs/[\w./-]*\w\.md)`)
	// Markdown inline links and images; the target stops at whitespace or ")".
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	fence     = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	codeSpan  = regexp.MustCompile("`[^`\n]*`")
	heading   = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	hasScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

type file struct {
	rel  string // slash-separated, relative to the repository root
	text string
}

func repoFiles(t *testing.T) (string, []file) {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("no go.work above the test's directory: cannot find the repository root")
		}
		root = parent
	}
	self, _ := filepath.Abs("doccheck_test.go")
	var files []file
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skippedDirs[d.Name()] && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !scanned(d.Name()) || path == self {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files = append(files, file{rel: filepath.ToSlash(rel), text: string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d files found under %s: the walk is not seeing the repository", len(files), root)
	}
	return root, files
}

// notCitable is true of the character a forbidden pattern matched before its citation.
func notCitable(r rune) bool { return !unicode.IsLetter(r) && r != '.' && r != '/' }

func lines(text string, fn func(n int, line string)) {
	s := bufio.NewScanner(strings.NewReader(text))
	s.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for n := 1; s.Scan(); n++ {
		fn(n, s.Text())
	}
}

// TestNothingCitesDocumentsOutsideTheRepository: no comment, string or page cites the
// product brief the project started from; what the code relies on is in docs/.
func TestNothingCitesDocumentsOutsideTheRepository(t *testing.T) {
	_, files := repoFiles(t)
	for _, f := range files {
		lines(f.text, func(n int, line string) {
			for _, re := range forbidden {
				if m := strings.TrimLeftFunc(re.FindString(line), notCitable); m != "" {
					t.Errorf("%s:%d cites %q, a document outside the repository: cite docs/ instead\n\t%s", f.rel, n, m, strings.TrimSpace(line))
				}
			}
		})
	}
}

// TestSectionReferencesNameTheirDocument: a bare "§1.2" cannot be followed; every § names
// its document on the same line. docs/kafka-postgres.md numbers its own sections.
func TestSectionReferencesNameTheirDocument(t *testing.T) {
	_, files := repoFiles(t)
	for _, f := range files {
		if f.rel == "docs/kafka-postgres.md" {
			continue
		}
		lines(f.text, func(n int, line string) {
			for _, loc := range sectionSign.FindAllStringIndex(line, -1) {
				if !namedBefore.MatchString(line[:loc[0]]) {
					t.Errorf("%s:%d has a § that names no document before it on its line\n\t%s", f.rel, n, strings.TrimSpace(line))
				}
			}
		})
	}
}

// TestCitedDocumentsAndSectionsExist: every docs/….md a file names exists, every
// "docs/kafka-postgres.md §N" is a numbered section of it, and every "guarantee N" is one
// of the guarantees docs/architecture.md states.
func TestCitedDocumentsAndSectionsExist(t *testing.T) {
	root, files := repoFiles(t)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return string(b)
	}
	sections := map[string]bool{}
	for _, m := range kpHeading.FindAllStringSubmatch(read("docs/kafka-postgres.md"), -1) {
		sections[m[1]] = true
	}
	guarantees := map[string]bool{}
	for _, m := range guaranteeHeading.FindAllStringSubmatch(read("docs/architecture.md"), -1) {
		guarantees[m[1]] = true
	}
	if len(sections) < 10 || len(guarantees) != 6 {
		t.Fatalf("docs/kafka-postgres.md has %d numbered sections, docs/architecture.md states %d guarantees: the headings changed shape", len(sections), len(guarantees))
	}
	for _, f := range files {
		lines(f.text, func(n int, line string) {
			for _, m := range docPath.FindAllStringSubmatch(line, -1) {
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
					t.Errorf("%s:%d cites %s, which does not exist", f.rel, n, m[1])
				}
			}
			for _, m := range kpCitation.FindAllStringSubmatch(line, -1) {
				nums := []string{m[1]}
				for _, more := range kpMore.FindAllStringSubmatch(m[2], -1) {
					nums = append(nums, more[1])
				}
				for _, num := range nums {
					if !sections[num] {
						t.Errorf("%s:%d cites docs/kafka-postgres.md §%s, which is not a section of it", f.rel, n, num)
					}
				}
			}
			if strings.Contains(line, "architecture.md") || f.rel == "docs/architecture.md" {
				for _, m := range guaranteeCitation.FindAllStringSubmatch(line, -1) {
					if !guarantees[m[1]] {
						t.Errorf("%s:%d cites guarantee %s, which docs/architecture.md does not state", f.rel, n, m[1])
					}
				}
			}
		})
	}
}

// TestMarkdownLinksResolve: every relative link of every Markdown page points to a file or
// directory of the repository, and a link's #fragment to a heading of its target page.
func TestMarkdownLinksResolve(t *testing.T) {
	root, files := repoFiles(t)
	anchors := map[string]map[string]bool{}
	anchorsOf := func(rel string) map[string]bool {
		if a, ok := anchors[rel]; ok {
			return a
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		a := map[string]bool{}
		if err == nil {
			a = headingAnchors(string(b))
		}
		anchors[rel] = a
		return a
	}
	links := 0
	for _, f := range files {
		if !strings.HasSuffix(f.rel, ".md") {
			continue
		}
		text := fence.ReplaceAllStringFunc(f.text, blankKeepingLines)
		text = codeSpan.ReplaceAllStringFunc(text, blankKeepingLines)
		lines(text, func(n int, line string) {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if hasScheme.MatchString(target) {
					continue
				}
				links++
				pathPart, frag, _ := strings.Cut(target, "#")
				dest := f.rel
				if pathPart != "" {
					dest = filepath.ToSlash(filepath.Join(filepath.Dir(f.rel), pathPart))
					if strings.HasPrefix(dest, "../") {
						t.Errorf("%s:%d links to %s, outside the repository", f.rel, n, target)
						continue
					}
					if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dest))); err != nil {
						t.Errorf("%s:%d links to %s, which does not exist", f.rel, n, target)
						continue
					}
				}
				if frag != "" && strings.HasSuffix(dest, ".md") && !anchorsOf(dest)[frag] {
					t.Errorf("%s:%d links to %s, but %s has no heading with anchor #%s", f.rel, n, target, dest, frag)
				}
			}
		})
	}
	if links == 0 {
		t.Fatal("no relative Markdown link found: the link pattern is broken")
	}
}

// headingAnchors returns the anchors a Markdown renderer gives the page's headings:
// lower case, punctuation dropped, spaces to hyphens, repeats numbered.
func headingAnchors(text string) map[string]bool {
	text = fence.ReplaceAllStringFunc(text, blankKeepingLines)
	out := map[string]bool{}
	seen := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(text, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if k := seen[slug]; k > 0 {
			out[slug+"-"+strconv.Itoa(k)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func blankKeepingLines(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		return ' '
	}, s)
}

// conflictMarker is a line git leaves where a merge was not resolved. Built from pieces so
// that this file does not match.
var conflictMarker = regexp.MustCompile(`^(?:` + "<<<<" + `<<< |` + "====" + `===$|` + ">>>>" + `>>> )`)

// TestNoUnresolvedMergeConflicts: a merge left half-done shows a reader both sides of an
// argument and the build may not notice (docs/architecture.md once held both versions of
// its guarantee table).
func TestNoUnresolvedMergeConflicts(t *testing.T) {
	_, files := repoFiles(t)
	for _, f := range files {
		lines(f.text, func(n int, line string) {
			if conflictMarker.MatchString(line) {
				t.Errorf("%s:%d holds a merge-conflict marker: resolve the merge\n\t%s", f.rel, n, line)
			}
		})
	}
}
