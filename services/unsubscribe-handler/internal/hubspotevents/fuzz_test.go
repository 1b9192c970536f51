package hubspotevents_test

import (
	"testing"

	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotevents"
)

// FuzzParse: whatever a signed post holds, Parse answers without panicking, and every
// opt-out it returns is one of the configured properties with positive ids and time.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"eventId":1,"portalId":2,"objectId":3,"occurredAt":4,"subscriptionType":"contact.propertyChange","propertyName":"hs_email_optout","propertyValue":"true"}]`))
	f.Add([]byte(`[{"eventId":1e30,"portalId":-2,"objectId":"3","subscriptionType":"contact.propertyChange","propertyName":"x_optout","propertyValue":"true"}]`))
	f.Add([]byte(`[{},null,[],"x",{"subscriptionType":null}]`))
	props, err := hubspotevents.ParseProperties([]string{"x_optout"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := hubspotevents.Parse(body, props)
		if err != nil {
			return
		}
		for _, o := range b.OptOuts {
			if !props[o.Property] || o.PortalID <= 0 || o.EventID <= 0 || o.ObjectID <= 0 || o.OccurredAt.UnixMilli() <= 0 {
				t.Errorf("opt-out %+v from %q", o, body)
			}
		}
	})
}
