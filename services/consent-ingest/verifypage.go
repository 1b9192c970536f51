package main

import (
	"html/template"
	"net/http"
)

type pageKind int

const (
	pageConfirm pageKind = iota
	pageThanks
	pageBadLink
	pageTryAgain
	pageBusy
)

// The page works without JavaScript and says nothing about who asked: whoever holds the
// link sees only that a request waits for confirmation.
var verifyTemplate = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
button{font:inherit;padding:.6rem 1.2rem;background:#0b57d0;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #1a1a1a;outline-offset:2px}</style></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Body}}</p>
{{if .Token}}<form method="post" action="/verify/{{.Token}}"><button type="submit">Confirm my request</button></form>{{end}}
</main></body></html>
`))

var pageTexts = map[pageKind][2]string{
	pageConfirm: {"Confirm your privacy request",
		"Someone asked us to act on your personal data using this email address. If it was you, confirm below and we will carry out your request. If it was not you, ignore this page: nothing will happen."},
	pageThanks: {"Thank you: your request is confirmed",
		"We are carrying out your request and will let you know when it is done, within the time the law allows."},
	pageBadLink: {"This link cannot be used",
		"The link is not valid or has expired. If you still want us to act on your data, please make your request again."},
	pageTryAgain: {"Please try again in a moment",
		"We could not record your confirmation just now. Nothing was lost: please press the button again shortly."},
	pageBusy: {"Please wait a moment",
		"There have been too many attempts from your connection. Nothing was lost: please open the link again in a minute."},
}

func (a *api) verifyPage(w http.ResponseWriter, status int, kind pageKind, token string) {
	text := pageTexts[kind]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	_ = verifyTemplate.Execute(w, struct{ Title, Body, Token string }{text[0], text[1], token})
}
