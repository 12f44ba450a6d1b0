package migrate

// ApplyFS lets the external tests apply migrations other than the embedded
// ones, such as a broken file.
var ApplyFS = apply
