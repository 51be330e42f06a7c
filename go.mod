module github.com/symauth/symauth

go 1.25
