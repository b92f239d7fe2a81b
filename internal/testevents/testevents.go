// Package testevents holds the events the benchmarks and tests of several packages
// send, so that they measure the same thing. Only tests import it.
package testevents

// Stripe is a realistic ~1.5 KB Stripe customer.subscription.deleted event, as Stripe
// sends it; %s is replaced by the event's id (shape it like Stripe's, evt_1QxB2c...:
// a long run of digits sends the body down the decoder's exact-integer path).
const Stripe = `{"id":"%s","object":"event","api_version":"2024-06-20","created":1732406400,` +
	`"type":"customer.subscription.deleted","livemode":false,"pending_webhooks":1,` +
	`"request":{"id":"req_8Qs2lQ2b","idempotency_key":"c1a7f1b4-3f0e-4a43-9d59-1a2b3c4d5e6f"},` +
	`"data":{"object":{"id":"sub_1QxB2c","object":"subscription","application":null,"billing_cycle_anchor":1732406400,` +
	`"cancel_at":null,"cancel_at_period_end":false,"canceled_at":1732406400,"collection_method":"charge_automatically",` +
	`"created":1729814400,"currency":"usd","current_period_end":1735084800,"current_period_start":1732406400,` +
	`"customer":"cus_QxSampleAda","days_until_due":null,"default_payment_method":"pm_1QxB2c","description":null,` +
	`"discount":null,"ended_at":1732406400,"items":{"object":"list","data":[{"id":"si_QxB2c","object":"subscription_item",` +
	`"created":1729814400,"metadata":{},"price":{"id":"price_pro_monthly","object":"price","active":true,` +
	`"billing_scheme":"per_unit","currency":"usd","product":"prod_QxPro","recurring":{"interval":"month","interval_count":1},` +
	`"type":"recurring","unit_amount":2900,"unit_amount_decimal":"2900"},"quantity":3}],"has_more":false},` +
	`"latest_invoice":"in_1QxB2c","livemode":false,"metadata":{"account":"acct_42","seats":"3"},` +
	`"plan":{"id":"price_pro_monthly","object":"plan","active":true,"amount":2900,"currency":"usd","interval":"month",` +
	`"product":"prod_QxPro"},"quantity":3,"start_date":1729814400,"status":"canceled","trial_end":null,"trial_start":null}},` +
	`"previous_attributes":{"status":"active"}}`
