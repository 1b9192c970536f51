package main

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/emailevents"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotcontacts"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotevents"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotsig"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
)

// sourceHubSpot is the source of what HubSpot reports. Not email_link, as for SendGrid:
// hs_email_optout changes when the recipient unsubscribes through HubSpot's mail, but
// also when a HubSpot user or workflow sets it.
const sourceHubSpot = "hubspot"

// hubSpotReaders bounds the contact reads of one webhook at once: HubSpot waits only
// seconds for the answer, and a batch holds up to 100 events.
const hubSpotReaders = 4

// hubSpotInbound is what HubSpot's webhook route needs from configuration.
type hubSpotInbound struct {
	secrets  map[string][]byte // per tenant: the client secret of its HubSpot app
	tokens   map[string]string // per tenant: reads a contact's address
	props    hubspotevents.Properties
	contacts *hubspotcontacts.Client
}

// hubSpotResult is the route's answer.
type hubSpotResult struct {
	Suppressed        int `json:"suppressed"`
	AlreadySuppressed int `json:"already_suppressed"`
	Ignored           int `json:"ignored"`
	ConsentEvents     int `json:"consent_events"`
	// UnknownContacts counts opt-outs of contacts HubSpot no longer has (deleted, merged)
	// or that have no address: nothing to suppress.
	UnknownContacts int `json:"unknown_contacts"`
}

// postHubSpotEvents is HubSpot's webhook (Webhooks API) for one tenant (?tenant=). HubSpot
// cannot send our API key, so the v3 signature made with the tenant app's client secret
// is the only authority: nothing is read before it verifies, and a post that does not
// verify, or whose timestamp is stale, applies nothing (401, which HubSpot does not retry).
//
// An opt-out (hubspotevents) withdraws marketing_email — a ConsentChanged of source
// hubspot when the address's subject is known — and suppresses the address, as
// SendGrid's unsubscribe does, so the other vendors follow. HubSpot names the contact by
// record ID only: the address is read from HubSpot with the tenant's token, and when
// HubSpot cannot answer, the post is answered 503 with nothing applied, so that HubSpot
// delivers it again.
func (a *api) postHubSpotEvents(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	secret := a.hubSpot.secrets[tenant]
	if secret == nil {
		// Answered as a signature that does not verify, so that a caller cannot learn which
		// tenants have HubSpot set up (the SendGrid route does the same).
		apierror.Write(w, a.log, apierror.New(apierror.Unauthorized, "the HubSpot signature does not verify or its timestamp is stale"))
		return
	}
	body, err := server.ReadBody(w, r, 2<<20)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	// HubSpot signs the URL it was told to post to; behind an ingress that URL is the
	// public one, so it is rebuilt from CONSENTRY_PUBLIC_URL and the request's own path
	// and query, never from Host or X-Forwarded-* that the sender chooses.
	uri := a.publicURL + r.URL.RequestURI()
	err = hubspotsig.Verify(secret, r.Method, uri, body, r.Header.Get(hubspotsig.SignatureHeader), r.Header.Get(hubspotsig.TimestampHeader), a.now())
	if err != nil {
		a.log.Warn("HubSpot webhook refused", "reason", err.Error())
		apierror.Write(w, a.log, apierror.New(apierror.Unauthorized, "the HubSpot signature does not verify or its timestamp is stale"))
		return
	}
	batch, err := hubspotevents.Parse(body, a.hubSpot.props)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	res := hubSpotResult{Ignored: batch.Ignored}
	emails, err := a.hubSpotEmails(r.Context(), tenant, batch.OptOuts)
	if err != nil {
		a.log.Warn("HubSpot contact read failed; the webhook is answered 503 for HubSpot to retry", "reason", err.Error())
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "HubSpot's contacts could not be read; nothing was applied, retry", err))
		return
	}
	var events []emailevents.Event
	for _, o := range batch.OptOuts {
		email, ok := emails[o.ObjectID]
		if !ok {
			res.UnknownContacts++
			continue
		}
		events = append(events, emailevents.Event{Tenant: tenant, Email: email, Kind: emailevents.Unsubscribe,
			OccurredAt: o.OccurredAt, ProviderID: o.Key()})
	}
	if err := a.applyHubSpot(r.Context(), events, &res); err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the events could not be recorded; nothing was applied, retry", err))
		return
	}
	apierror.JSON(w, http.StatusOK, res)
}

// hubSpotEmails reads the address of each contact the opt-outs name. A contact HubSpot
// does not have is left out; any other failure fails the whole read.
func (a *api) hubSpotEmails(ctx context.Context, tenant string, optOuts []hubspotevents.OptOut) (map[int64]string, error) {
	ids := map[int64]bool{}
	for _, o := range optOuts {
		ids[o.ObjectID] = true
	}
	token := a.hubSpot.tokens[tenant]
	var (
		mu       sync.Mutex
		emails   = map[int64]string{}
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, hubSpotReaders)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for id := range ids {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			email, err := a.hubSpot.contacts.Email(ctx, token, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && pseudonym.PlausibleEmail(email):
				emails[id] = email
			case err == nil, errors.Is(err, hubspotcontacts.ErrNotFound):
			case firstErr == nil:
				firstErr = err
				cancel() // the post will be retried whole; the other reads are wasted
			}
		}()
	}
	wg.Wait()
	return emails, firstErr
}

// applyHubSpot records the opt-outs in one transaction; res's counts are those of the
// attempt that committed.
func (a *api) applyHubSpot(ctx context.Context, events []emailevents.Event, res *hubSpotResult) error {
	s := a.suppressor
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		res.Suppressed, res.AlreadySuppressed, res.ConsentEvents = 0, 0, 0
		var msgs []kafka.Message
		for _, e := range events {
			m, changed, consent, err := a.vendorOptOut(ctx, tx, "hubspot", sourceHubSpot, e)
			if err != nil {
				return err
			}
			if consent {
				res.ConsentEvents++
			}
			if changed {
				res.Suppressed++
			} else {
				res.AlreadySuppressed++
			}
			msgs = append(msgs, m...)
		}
		return s.producer.Publish(ctx, msgs...)
	})
}
