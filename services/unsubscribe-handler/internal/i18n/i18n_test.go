package i18n_test

import (
	"testing"
	"testing/fstest"

	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
)

func TestEmbeddedEnglishLoads(t *testing.T) {
	cs, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	en := cs.For("")
	if en.Lang != "en" || en.T("preferences.save") != "Save my choices" {
		t.Errorf("default catalogue %s: %q", en.Lang, en.T("preferences.save"))
	}
	if got := en.T("no.such.id"); got != "no.such.id" {
		t.Errorf("a missing id renders %q", got)
	}
}

func TestLanguageChoice(t *testing.T) {
	cs, err := i18n.LoadFS(fstest.MapFS{
		"en.json": {Data: []byte(`{"preferences.save": "Save my choices", "preferences.title": "Your privacy choices"}`)},
		"de.json": {Data: []byte(`{"preferences.save": "Auswahl speichern"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ header, lang, save, title string }{
		{"de-DE,de;q=0.9,en;q=0.8", "de", "Auswahl speichern", "Your privacy choices"}, // untranslated ids fall back to English
		{"fr-FR, en;q=0.5", "en", "Save my choices", "Your privacy choices"},
		{"ja", "en", "Save my choices", "Your privacy choices"},
		{"", "en", "Save my choices", "Your privacy choices"},
		{"garbage;;q=x", "en", "Save my choices", "Your privacy choices"},
	}
	for _, c := range cases {
		got := cs.For(c.header)
		if got.Lang != c.lang || got.T("preferences.save") != c.save || got.T("preferences.title") != c.title {
			t.Errorf("Accept-Language %q: %s %q %q", c.header, got.Lang, got.T("preferences.save"), got.T("preferences.title"))
		}
	}
}

func TestTranslationWithUnknownIDIsRejected(t *testing.T) {
	_, err := i18n.LoadFS(fstest.MapFS{
		"en.json": {Data: []byte(`{"a": "A"}`)},
		"de.json": {Data: []byte(`{"b": "B"}`)},
	})
	if err == nil {
		t.Error("a catalogue with an id English lacks was accepted")
	}
}
