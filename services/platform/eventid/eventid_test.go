package eventid_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/consentry/consentry/platform/eventid"
)

func TestNewIsVersion7(t *testing.T) {
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	if v := uuid.MustParse(id).Version(); v != 7 {
		t.Fatalf("version %d, want 7", v)
	}
}

func TestDeriveIsDeterministicAndDistinct(t *testing.T) {
	parent, _ := eventid.New()
	other, _ := eventid.New()
	a, err := eventid.Derive(parent, "suppression")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := eventid.Derive(parent, "suppression")
	c, _ := eventid.Derive(parent, "receipt")
	d, _ := eventid.Derive(other, "suppression")
	if a != b {
		t.Errorf("same parent and label gave %s and %s", a, b)
	}
	if a == c || a == d || a == parent {
		t.Errorf("derived ids collide: %s %s %s %s", a, c, d, parent)
	}
	u := uuid.MustParse(a)
	if u.Version() != 7 || u.Variant() != uuid.RFC4122 {
		t.Errorf("derived id %s is version %d variant %v", a, u.Version(), u.Variant())
	}
	if a[:13] != parent[:13] {
		t.Errorf("derived id %s does not keep the timestamp of %s", a, parent)
	}
}

func TestDeriveRejectsNonUUID(t *testing.T) {
	if _, err := eventid.Derive("not-a-uuid", "x"); err == nil {
		t.Fatal("accepted a parent that is not a UUID")
	}
}

func TestFromPosition(t *testing.T) {
	a := eventid.FromPosition("suppression.email.v1", 3, 42)
	if a != eventid.FromPosition("suppression.email.v1", 3, 42) {
		t.Error("same position gave different ids")
	}
	if a == eventid.FromPosition("suppression.email.v1", 3, 43) {
		t.Error("different offsets gave the same id")
	}
	if !eventid.Valid(a) {
		t.Errorf("%q is not a valid UUID", a)
	}
}

func TestFromSubmissionIsStablePerTenantAndID(t *testing.T) {
	a := eventid.FromSubmission("acme", "s-1")
	if a != eventid.FromSubmission("acme", "s-1") || !eventid.Valid(a) {
		t.Fatalf("id %q is not stable or not a UUID", a)
	}
	// The separator keeps ("a", "cme\x00s") and ("acme", "s") apart; tenants differ.
	for _, other := range [][2]string{{"globex", "s-1"}, {"acme", "s-2"}, {"acm", "e\x00s-1"}} {
		if eventid.FromSubmission(other[0], other[1]) == a {
			t.Errorf("%q/%q gets the same id as acme/s-1", other[0], other[1])
		}
	}
}
