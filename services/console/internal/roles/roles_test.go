package roles

import (
	"strings"
	"testing"
)

func TestEachRoleHoldsOnlyItsJob(t *testing.T) {
	m, err := ParseMapping("viewer=readers,privacy-desk=dpo|privacy,operator=sre")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		groups []string
		can    []Permission
		cannot []Permission
	}{
		{[]string{"readers"}, []Permission{View}, []Permission{ManageRequests, CompleteTasks, RevealIdentifiers, ViewSubjects, ReplayDeadLetters, VerifyAudit}},
		{[]string{"privacy"}, []Permission{View, ManageRequests, CompleteTasks, RevealIdentifiers, ViewSubjects}, []Permission{ReplayDeadLetters, VerifyAudit}},
		{[]string{"sre", "unrelated"}, []Permission{View, ReplayDeadLetters, VerifyAudit}, []Permission{ManageRequests, CompleteTasks, RevealIdentifiers, ViewSubjects}},
		{[]string{"unrelated"}, nil, []Permission{View}},
		{[]string{"dpo", "sre"}, []Permission{ManageRequests, ReplayDeadLetters}, nil},
	}
	for _, c := range cases {
		g := m.Resolve(c.groups)
		for _, p := range c.can {
			if !g.Can(p) {
				t.Errorf("groups %v: cannot %s", c.groups, p)
			}
		}
		for _, p := range c.cannot {
			if g.Can(p) {
				t.Errorf("groups %v: can %s", c.groups, p)
			}
		}
	}
}

func TestParseMappingRejects(t *testing.T) {
	for spec, want := range map[string]string{
		"":                       "no group",
		"admin=x":                "unknown role",
		"viewer":                 "want role=group",
		"viewer=x,operator=x":    "mapped to both",
		"viewer=a,privacy-desk=": "want role=group",
	} {
		if _, err := ParseMapping(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMapping(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
}
