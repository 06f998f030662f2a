package runbook
import ("testing";"fmt")
func TestSmoke(t *testing.T) {
	set, err := LoadDir("testdata/good", testCatalog())
	fmt.Println(err)
	if set != nil { fmt.Println(len(set.Runbooks), len(set.Environments), set.Runbooks["regional_failover"].Steps[0].ReadOnly) }
}
