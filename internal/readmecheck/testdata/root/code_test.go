package fixture

import "testing"

func BenchmarkGreet(b *testing.B) {
	for range b.N {
		Greet("b")
	}
}
