package vendorsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AddHubSpotContact makes HubSpot hold a contact with record ID id and address email, as
// a test's account would before a webhook names the contact by its ID alone
// (docs/vendors/hubspot.md, "Inbound opt-outs"). Reset forgets it.
func (s *Simulator) AddHubSpotContact(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.hubspot.contacts[id] = email
}

// hubspotContact answers GET /crm/v3/objects/contacts/{id}: HubSpot's
// SimplePublicObject, with the properties asked for by ?properties= that the contact has
// (HubSpot ignores the others) besides the three it always returns.
func (s *Simulator) hubspotContact(w http.ResponseWriter, r *http.Request) {
	if !hubspotAuthorized(w, r) {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	email, ok := s.state.hubspot.contacts[id]
	s.mu.Unlock()
	if !ok {
		hubspotError(w, http.StatusNotFound, "resource not found")
		return
	}
	created := stamp(time.Unix(1_700_000_000, 0))
	props := map[string]any{"hs_object_id": id, "createdate": created, "lastmodifieddate": created}
	for _, p := range strings.Split(r.URL.Query().Get("properties"), ",") {
		if p == "email" {
			props["email"] = email
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "properties": props, "createdAt": created, "updatedAt": created, "archived": false,
	})
}

// forgetContacts drops the contacts a GDPR delete removes: by record ID, or every
// contact with the address.
func (st *hubspotState) forgetContacts(objectID, idProperty string) {
	if idProperty == "" {
		delete(st.contacts, objectID)
		return
	}
	for id, email := range st.contacts {
		if normEmail(email) == normEmail(objectID) {
			delete(st.contacts, id)
		}
	}
}

// HubSpotWebhookHeaders returns the headers HubSpot sends with a webhook request signed
// with an app's client secret (signature v3, docs/vendors/hubspot.md): base64
// HMAC-SHA256 over method + URI + body + timestamp, the timestamp in Unix milliseconds.
// uri is the full URL HubSpot posts to, as configured in the app.
func HubSpotWebhookHeaders(secret, method, uri string, body []byte, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + uri))
	mac.Write(body)
	mac.Write([]byte(ts))
	return map[string]string{
		"X-HubSpot-Signature-v3":      base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"X-HubSpot-Request-Timestamp": ts,
		"X-HubSpot-Signature-Version": "v3",
	}
}
