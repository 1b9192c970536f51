package pseudonym_test

import (
	"bytes"
	"testing"

	"github.com/consentry/consentry/platform/pseudonym"
)

func TestSubjectKey(t *testing.T) {
	p, err := pseudonym.NewPepper(bytes.Repeat([]byte("p"), 32))
	if err != nil {
		t.Fatal(err)
	}
	q, _ := pseudonym.NewPepper(bytes.Repeat([]byte("q"), 32))
	a := p.SubjectKey("consumer", "u_8d41")
	if a != p.SubjectKey("consumer", "u_8d41") {
		t.Error("not deterministic")
	}
	if !pseudonym.IsHexSHA256(a) {
		t.Errorf("%q is not 64 hex digits", a)
	}
	for name, other := range map[string]string{
		"other tenant":  p.SubjectKey("acme", "u_8d41"),
		"other subject": p.SubjectKey("consumer", "u_8d42"),
		"shifted split": p.SubjectKey("consumeru", "_8d41"),
		"other pepper":  q.SubjectKey("consumer", "u_8d41"),
	} {
		if other == a {
			t.Errorf("%s gives the same key", name)
		}
	}
}

func TestPepperTooShort(t *testing.T) {
	if _, err := pseudonym.NewPepper([]byte("short")); err == nil {
		t.Fatal("accepted a 5-byte pepper")
	}
}

func TestEmailSHA256Normalises(t *testing.T) {
	// printf 'ada@example.com' | sha256sum
	const want = "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"
	if got := pseudonym.EmailSHA256("  Ada@Example.COM \n"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
