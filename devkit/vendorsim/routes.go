package vendorsim

import "net/http"

// vendorRoutes maps every vendor endpoint. PostHog's paths end in "/{$}" because
// Django routes them with a trailing slash and nothing after it.
func (s *Simulator) vendorRoutes() *http.ServeMux {
	mux := http.NewServeMux()

	// HubSpot (docs/vendors/hubspot.md).
	mux.HandleFunc("POST /hubspot/crm/v3/objects/contacts/gdpr-delete", s.hubspotGDPRDelete)
	mux.HandleFunc("GET /hubspot/crm/v3/objects/contacts/{id}", s.hubspotContact)
	mux.HandleFunc("POST /hubspot/oauth/v1/token", s.hubspotToken)
	mux.HandleFunc("POST /salesforce/services/oauth2/token", s.salesforceToken)
	mux.HandleFunc("POST /linkedin/oauth/v2/accessToken", s.linkedinToken)
	mux.HandleFunc("POST /hubspot/communication-preferences/v4/statuses/{email}/unsubscribe-all", s.hubspotUnsubscribeAll)
	mux.HandleFunc("GET /hubspot/communication-preferences/v4/statuses/{email}/unsubscribe-all", s.hubspotUnsubscribeAllStatus)
	mux.HandleFunc("POST /hubspot/communication-preferences/v3/unsubscribe", s.hubspotUnsubscribeV3)

	// Salesforce (docs/vendors/salesforce.md). The API version is a wildcard so adapters can move off v60.0.
	mux.HandleFunc("PATCH /salesforce/services/data/{version}/sobjects/{object}/{id}", s.salesforceUpdate)
	mux.HandleFunc("DELETE /salesforce/services/data/{version}/sobjects/{object}/{id}", s.salesforceDelete)
	mux.HandleFunc("POST /salesforce/services/data/{version}/jobs/ingest", s.salesforceCreateJob)
	mux.HandleFunc("PUT /salesforce/services/data/{version}/jobs/ingest/{job}/batches", s.salesforceUploadBatch)
	mux.HandleFunc("PATCH /salesforce/services/data/{version}/jobs/ingest/{job}", s.salesforceJobState)
	mux.HandleFunc("GET /salesforce/services/data/{version}/jobs/ingest/{job}", s.salesforceJobGet)
	mux.HandleFunc("GET /salesforce/services/data/{version}/jobs/ingest/{job}/failedResults/", s.salesforceFailedResults)

	// FullStory (docs/vendors/fullstory.md).
	mux.HandleFunc("DELETE /fullstory/v2/users", s.fullstoryDelete)
	mux.HandleFunc("DELETE /fullstory/v2/users/{id}", s.fullstoryDelete)
	mux.HandleFunc("GET /fullstory/v2/users", s.fullstoryGet)
	mux.HandleFunc("GET /fullstory/v2/users/{id}", s.fullstoryGet)

	// PostHog (docs/vendors/posthog.md).
	mux.HandleFunc("GET /posthog/api/projects/{project}/persons/{$}", s.posthogPersons)
	mux.HandleFunc("POST /posthog/api/projects/{project}/persons/bulk_delete/{$}", s.posthogBulkDelete)
	mux.HandleFunc("DELETE /posthog/api/projects/{project}/persons/{uuid}/{$}", s.posthogDelete)
	mux.HandleFunc("GET /posthog/api/projects/{project}/persons/deletion_status/{$}", s.posthogDeletionStatus)

	// Amplitude (docs/vendors/amplitude.md).
	mux.HandleFunc("POST /amplitude/api/2/deletions/users", s.amplitudeCreate)
	mux.HandleFunc("GET /amplitude/api/2/deletions/users", s.amplitudeList)

	// LinkedIn (docs/vendors/linkedin.md).
	mux.HandleFunc("POST /linkedin/rest/dmpSegments/{segment}/users", s.linkedinSegmentUsers)

	// SendGrid (docs/vendors/sendgrid.md).
	mux.HandleFunc("POST /sendgrid/v3/asm/suppressions/global", s.sendgridSuppress)
	mux.HandleFunc("GET /sendgrid/v3/asm/suppressions/global/{email}", s.sendgridSuppression)
	mux.HandleFunc("POST /sendgrid/v3/marketing/contacts/search/emails", s.sendgridSearch)
	mux.HandleFunc("DELETE /sendgrid/v3/marketing/contacts", s.sendgridDeleteContacts)

	// Partners that push to us.
	mux.HandleFunc("POST /webhook/{name}", s.webhook)
	return mux
}

// adminRoutes maps the /_sim introspection and control endpoints.
func (s *Simulator) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/calls", s.listCalls)
	mux.HandleFunc("DELETE /_sim/calls", s.deleteCalls)
	mux.HandleFunc("GET /_sim/faults", s.getFaults)
	mux.HandleFunc("POST /_sim/faults", s.postFault)
	mux.HandleFunc("POST /_sim/reset", s.postReset)
	return mux
}
