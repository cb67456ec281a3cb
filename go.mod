module github.com/necrostack/necrostack

go 1.24.0

require (
	github.com/dave/jennifer v1.7.1
	github.com/google/uuid v1.6.0
	go.uber.org/goleak v1.3.0
	golang.org/x/tools v0.38.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/mod v0.29.0 // indirect
	golang.org/x/sync v0.17.0 // indirect
)

tool github.com/necrostack/necrostack/cmd/necrogen
