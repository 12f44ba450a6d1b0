// Package utils holds the two small helpers every layer shares: the headers
// that present a Supabase key to the Data API, and the JSON response envelope.
package utils
