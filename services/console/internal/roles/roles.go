// Package roles maps the roles an identity provider asserts to what the console lets a
// person do. Each role holds only what its job needs: a privacy desk decides requests and
// carries out manual tasks but replays nothing; an operator runs the pipeline but opens
// no person's identifiers; a viewer changes nothing.
package roles

import (
	"fmt"
	"slices"
	"strings"
)

// Permission is one thing the console lets a person do.
type Permission string

const (
	View              Permission = "view"               // every screen but a subject's
	ManageRequests    Permission = "requests:manage"    // approve, reject, extend
	CompleteTasks     Permission = "tasks:complete"     // close a manual task
	RevealIdentifiers Permission = "identifiers:reveal" // show a task's identifiers (recorded)
	ViewSubjects      Permission = "subjects:view"      // a subject's consent proof and history
	ReplayDeadLetters Permission = "dead-letters:replay"
	VerifyAudit       Permission = "audit:verify"
)

// Role names, as the console's configuration maps identity-provider groups onto them.
const (
	Viewer      = "viewer"
	PrivacyDesk = "privacy-desk"
	Operator    = "operator"
)

var grants = map[string][]Permission{
	Viewer:      {View},
	PrivacyDesk: {View, ManageRequests, CompleteTasks, RevealIdentifiers, ViewSubjects},
	Operator:    {View, ReplayDeadLetters, VerifyAudit},
}

// Names lists the roles, least privileged first.
var Names = []string{Viewer, PrivacyDesk, Operator}

// Mapping says which claim values (identity-provider groups) grant which role.
type Mapping map[string]string // claim value -> role

// ParseMapping reads "role=group|group,role=group": for instance
// "viewer=consentry-viewers,privacy-desk=dpo-team|privacy,operator=sre".
func ParseMapping(spec string) (Mapping, error) {
	m := Mapping{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		role, groups, ok := strings.Cut(entry, "=")
		if !ok || groups == "" {
			return nil, fmt.Errorf("roles: entry %d: want role=group[|group...]", i+1)
		}
		if _, known := grants[role]; !known {
			return nil, fmt.Errorf("roles: entry %d: unknown role %q (one of %s)", i+1, role, strings.Join(Names, ", "))
		}
		for _, g := range strings.Split(groups, "|") {
			if g == "" {
				continue
			}
			if prev, dup := m[g]; dup && prev != role {
				return nil, fmt.Errorf("roles: group %q is mapped to both %s and %s", g, prev, role)
			}
			m[g] = role
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("roles: no group is mapped to a role")
	}
	return m, nil
}

// Grant is what one signed-in person may do.
type Grant struct {
	Roles []string     `json:"roles"`
	Perms []Permission `json:"perms"`
}

// Resolve returns the roles and permissions that claimValues (the person's groups) grant;
// a person in no mapped group gets none and is refused by the console.
func (m Mapping) Resolve(claimValues []string) Grant {
	var g Grant
	seen := map[Permission]bool{}
	for _, role := range Names {
		held := false
		for _, v := range claimValues {
			if m[v] == role {
				held = true
			}
		}
		if !held {
			continue
		}
		g.Roles = append(g.Roles, role)
		for _, p := range grants[role] {
			if !seen[p] {
				seen[p] = true
				g.Perms = append(g.Perms, p)
			}
		}
	}
	return g
}

// Can reports whether the grant holds p.
func (g Grant) Can(p Permission) bool { return slices.Contains(g.Perms, p) }
