// Package i18n holds every string the public pages show, one catalogue per language keyed
// by message id. English is the default and the reference: a translation is a new file in
// catalogs/ named by its BCP 47 tag (de.json, pt-BR.json) holding the same ids, and pages
// pick it from the visitor's Accept-Language.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

//go:embed catalogs/*.json
var files embed.FS

// Catalog is one language's messages.
type Catalog struct {
	Lang     string // BCP 47, for <html lang>
	msgs     map[string]string
	fallback *Catalog
}

// T returns the message id, falling back to English and then to the id itself, so a
// translation that lags behind shows English rather than nothing.
func (c *Catalog) T(id string) string {
	if m, ok := c.msgs[id]; ok {
		return m
	}
	if c.fallback != nil {
		return c.fallback.T(id)
	}
	return id
}

// Has reports whether id is in the catalogue or its fallback.
func (c *Catalog) Has(id string) bool {
	_, ok := c.msgs[id]
	return ok || (c.fallback != nil && c.fallback.Has(id))
}

// Catalogs are the available languages.
type Catalogs struct {
	all     []*Catalog
	matcher language.Matcher
}

// Load reads the embedded catalogues. Each must be valid JSON and hold only ids that the
// English one holds (a typo in an id would otherwise go unnoticed until someone reads it).
func Load() (*Catalogs, error) {
	sub, err := fs.Sub(files, "catalogs")
	if err != nil {
		return nil, err
	}
	return LoadFS(sub)
}

// LoadFS reads catalogues from the *.json files at the top of fsys.
func LoadFS(fsys fs.FS) (*Catalogs, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	byTag := map[string]map[string]string{}
	for _, e := range entries {
		if path.Ext(e.Name()) != ".json" {
			continue
		}
		raw, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		var msgs map[string]string
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", e.Name(), err)
		}
		tag, err := language.Parse(strings.TrimSuffix(e.Name(), ".json"))
		if err != nil {
			return nil, fmt.Errorf("i18n: %s is not named by a language tag", e.Name())
		}
		byTag[tag.String()] = msgs
	}
	en, ok := byTag["en"]
	if !ok {
		return nil, fmt.Errorf("i18n: no English catalogue")
	}
	base := &Catalog{Lang: "en", msgs: en}
	cs := &Catalogs{all: []*Catalog{base}} // first: the matcher's default
	tags := []language.Tag{language.English}
	others := make([]string, 0, len(byTag))
	for t := range byTag {
		if t != "en" {
			others = append(others, t)
		}
	}
	sort.Strings(others)
	for _, t := range others {
		for id := range byTag[t] {
			if _, ok := en[id]; !ok {
				return nil, fmt.Errorf("i18n: %s.json holds %q, which English does not", t, id)
			}
		}
		cs.all = append(cs.all, &Catalog{Lang: t, msgs: byTag[t], fallback: base})
		tags = append(tags, language.MustParse(t))
	}
	cs.matcher = language.NewMatcher(tags)
	return cs, nil
}

// For picks the catalogue that best serves an Accept-Language header; English when none
// does or the header is unreadable.
func (cs *Catalogs) For(acceptLanguage string) *Catalog {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return cs.all[0]
	}
	_, i, conf := cs.matcher.Match(prefs...)
	if conf == language.No {
		return cs.all[0]
	}
	return cs.all[i]
}

// English returns the default catalogue.
func (cs *Catalogs) English() *Catalog { return cs.all[0] }
