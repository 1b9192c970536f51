package main

import (
	"testing"

	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
)

// Every message id the code names must be in the English catalogue: a missing one would
// show its id to a person instead of a sentence.
func TestEveryMessageIDIsInTheCatalogue(t *testing.T) {
	cs, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	en := cs.English()
	ids := []string{"unsubscribe.button", "preferences.title", "preferences.intro", "preferences.allow", "preferences.deny",
		"preferences.no_choice", "preferences.topics.legend", "preferences.topics.hint", "preferences.save",
		"preferences.saved.title", "preferences.saved.message", "preferences.saved.back", "preferences.unchanged.message",
		"preferences.invalid.message", "unsubscribe.title", "unsubscribe.message", "unsubscribe.done.title",
		"unsubscribe.done.message", "unsubscribe.not_a_request.title", "unsubscribe.not_a_request.message",
		"unsubscribe.preferences_link", "retry.title", "retry.message", "rate_limited.title", "rate_limited.message",
		"csrf.title", "csrf.message", invalid.Title, invalid.Message}
	for _, p := range purposes {
		ids = append(ids, "purpose."+p+".title", "purpose."+p+".description")
	}
	for _, topic := range []string{"newsletter", "product_updates", "events"} { // the default topics
		ids = append(ids, "topic."+topic)
	}
	for _, id := range ids {
		if !en.Has(id) {
			t.Errorf("%s is not in catalogs/en.json", id)
		}
	}
}
