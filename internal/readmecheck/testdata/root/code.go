// Package fixture is the repository the readmecheck tests check fixtures
// against.
package fixture

// Greet says hello.
func Greet(name string) string {
	if name == "" {
		name = "world"
	}
	return "hello, " + name
}

// Part is a thing.
type Part struct {
	Name string
	Size int
}
