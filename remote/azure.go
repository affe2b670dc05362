package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
)

// azureBackend reads one container of an Azure storage account (block,
// append and page blobs alike) with the official SDK.
type azureBackend struct {
	baseName string
	cc       *container.Client
	// anon says why requests go without credentials ("" when they
	// carry some): a 403 then says so.
	anon string
}

// isAzureURL tells an Azure Blob URL from any other web URL: the
// service's host name, or a query string that is a SAS.
func isAzureURL(u *url.URL, query string) bool {
	if strings.HasSuffix(strings.ToLower(u.Hostname()), ".blob.core.windows.net") {
		return true
	}
	q, _ := url.ParseQuery(query)
	return q.Get("sv") != "" && q.Get("sig") != ""
}

// newAzure opens azblob://ACCOUNT/CONTAINER/PREFIX (credentials from
// AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, or none for a public
// container; Endpoint for an emulator), or an https URL with a SAS
// (sas set), whose host is ACCOUNT.blob.core.windows.net or, for an
// emulator, any host with the account as first path segment.
func newAzure(ctx context.Context, u *url.URL, sas string, opt Options) (*azureBackend, string, error) {
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 3)
	key := ""
	var account, cont, serviceURL, baseName string
	scheme := strings.ToLower(u.Scheme)
	if scheme == "azblob" {
		account = u.Host
		cont = parts[0]
		if len(parts) > 1 {
			key = strings.Join(parts[1:], "/")
		}
		baseName = "azblob://" + account + "/" + cont
		serviceURL = "https://" + account + ".blob.core.windows.net/"
		if opt.Endpoint != "" {
			serviceURL = strings.TrimSuffix(opt.Endpoint, "/") + "/"
		}
	} else if strings.HasSuffix(strings.ToLower(u.Hostname()), ".blob.core.windows.net") {
		account = strings.SplitN(u.Hostname(), ".", 2)[0]
		cont = parts[0]
		if len(parts) > 1 {
			key = strings.Join(parts[1:], "/")
		}
		serviceURL = scheme + "://" + u.Host + "/"
		baseName = serviceURL + cont
	} else { // an emulator's path-style URL: /ACCOUNT/CONTAINER/...
		if len(parts) < 2 {
			return nil, "", &Error{Op: "open", Name: u.String(), Err: fmt.Errorf("%w: no account and container in the path", ErrBadURL)}
		}
		account = parts[0]
		cont = parts[1]
		if len(parts) > 2 {
			key = parts[2]
		}
		serviceURL = scheme + "://" + u.Host + "/" + account + "/"
		baseName = serviceURL + cont
	}
	if cont == "" {
		return nil, "", &Error{Op: "open", Name: u.String(), Err: fmt.Errorf("%w: no container", ErrBadURL)}
	}
	copt := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1}, // source.do retries
		Transport: &http.Client{Transport: transport()},
	}}
	var (
		client *azblob.Client
		err    error
		anon   string
	)
	switch {
	case sas != "":
		client, err = azblob.NewClientWithNoCredential(serviceURL+"?"+sas, copt)
	case os.Getenv("AZURE_STORAGE_CONNECTION_STRING") != "":
		client, err = azblob.NewClientFromConnectionString(os.Getenv("AZURE_STORAGE_CONNECTION_STRING"), copt)
	case os.Getenv("AZURE_STORAGE_KEY") != "":
		var cred *azblob.SharedKeyCredential
		cred, err = azblob.NewSharedKeyCredential(account, os.Getenv("AZURE_STORAGE_KEY"))
		if err == nil {
			client, err = azblob.NewClientWithSharedKeyCredential(serviceURL, cred, copt)
		}
	case opt.Anonymous:
		anon = "--no-sign-request"
		client, err = azblob.NewClientWithNoCredential(serviceURL, copt)
	default:
		var cred azcore.TokenCredential
		cred, anon = entraCredential(ctx, copt.Transport)
		if cred != nil {
			client, err = azblob.NewClient(serviceURL, cred, copt)
		} else {
			client, err = azblob.NewClientWithNoCredential(serviceURL, copt)
		}
	}
	if err != nil {
		// The SDK's message may quote the connection string: never show it.
		return nil, "", &Error{Op: "open", Name: baseName, Err: fmt.Errorf("cannot use the Azure credentials given (check AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, the SAS or the Entra ID settings): %s", errSummary(err))}
	}
	return &azureBackend{baseName: baseName, cc: client.ServiceClient().NewContainerClient(cont), anon: anon},
		strings.Trim(key, "/"), nil
}

// entraCredential returns the Azure SDK's default credential chain
// (environment, workload identity, managed identity, Azure CLI, Azure
// Developer CLI) when it gives a token for Storage within credTimeout,
// else nil and why: a public container is then read without credentials.
// The token is asked for now so that a chain with nothing in it costs
// one bounded wait at open, not a failure at every read.
func entraCredential(ctx context.Context, tr policy.Transporter) (azcore.TokenCredential, string) {
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: tr},
	})
	if err != nil {
		return nil, "no Azure credential: " + errSummary(err)
	}
	cctx, cancel := context.WithTimeout(ctx, credTimeout)
	defer cancel()
	if _, err := cred.GetToken(cctx, policy.TokenRequestOptions{Scopes: []string{storageScope}}); err != nil {
		return nil, "no Azure credential found by the default chain: " + chainSummary(err)
	}
	return cred, ""
}

// chainSummary is the default chain's error on one line: what each step
// said, without the HTTP dumps some of them append.
func chainSummary(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "Attempted credentials") ||
			strings.HasPrefix(l, "To troubleshoot") || strings.HasPrefix(l, "GET ") || strings.HasPrefix(l, "RESPONSE ") {
			continue
		}
		parts = append(parts, strings.TrimPrefix(l, "DefaultAzureCredential: "))
	}
	s := strings.Join(parts, "; ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return Redact(s)
}

// storageScope is the OAuth scope of Azure Storage.
const storageScope = "https://storage.azure.com/.default"

// errSummary is the first line of an SDK error, redacted: the chain's
// errors run to many lines, one per credential tried.
func errSummary(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return Redact(s)
}

// transport is the HTTP transport of the Azure SDK's clients.
func transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tuneTransport(tr)
	return tr
}

func (a *azureBackend) base() string  { return a.baseName }
func (a *azureBackend) canList() bool { return true }

func (a *azureBackend) status(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if (re.StatusCode == 401 || re.StatusCode == 403) && a.anon != "" {
			return re.StatusCode, strings.TrimSpace(re.ErrorCode + " (without credentials: " + a.anon + ")")
		}
		return re.StatusCode, re.ErrorCode
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code, ""
	}
	return 0, ""
}

func (a *azureBackend) open(ctx context.Context, key string, n int64) (objInfo, io.ReadCloser, error) {
	if key == "" {
		return objInfo{}, nil, &statusError{code: 404}
	}
	resp, err := a.cc.NewBlobClient(key).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 0, Count: n}})
	if st, _ := a.status(err); st == 416 {
		return a.head(ctx, key) // an empty blob has no first byte
	}
	if err != nil {
		return objInfo{}, nil, err
	}
	o := objInfo{key: key}
	if resp.ETag != nil {
		o.etag = string(*resp.ETag)
	}
	if resp.LastModified != nil {
		o.mod = *resp.LastModified
	}
	o.pages = resp.BlobType != nil && *resp.BlobType == blob.BlobTypePageBlob
	cr := ""
	if resp.ContentRange != nil {
		cr = *resp.ContentRange
	}
	if o.size, err = firstRange(cr, n); err != nil {
		resp.Body.Close()
		return o, nil, err
	}
	return o, resp.Body, nil
}

// head describes a blob without reading it.
func (a *azureBackend) head(ctx context.Context, key string) (objInfo, io.ReadCloser, error) {
	p, err := a.cc.NewBlobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return objInfo{}, nil, err
	}
	o := objInfo{key: key}
	if p.ContentLength != nil {
		o.size = *p.ContentLength
	}
	if p.ETag != nil {
		o.etag = string(*p.ETag)
	}
	if p.LastModified != nil {
		o.mod = *p.LastModified
	}
	o.pages = p.BlobType != nil && *p.BlobType == blob.BlobTypePageBlob
	return o, nil, nil
}

func (a *azureBackend) list(ctx context.Context, prefix string, alive func()) ([]objInfo, error) {
	pager := a.cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: &prefix})
	var out []objInfo
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		alive()
		for _, p := range page.Segment.BlobPrefixes {
			if p.Name != nil {
				out = append(out, objInfo{key: strings.TrimSuffix(*p.Name, "/"), dir: true})
			}
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil {
				continue
			}
			o := objInfo{key: *b.Name}
			if pr := b.Properties; pr != nil {
				if pr.ContentLength != nil {
					o.size = *pr.ContentLength
				}
				if pr.ETag != nil {
					o.etag = string(*pr.ETag)
				}
				if pr.LastModified != nil {
					o.mod = *pr.LastModified
				}
				o.pages = pr.BlobType != nil && *pr.BlobType == blob.BlobTypePageBlob
			}
			out = append(out, o)
		}
		if len(out) > maxList {
			return nil, fmt.Errorf("more than %d names in one folder", maxList)
		}
	}
	return out, nil
}

// maxList bounds one folder's listing.
const maxList = 1000000

func (a *azureBackend) get(ctx context.Context, key, etag string, off, n int64) (io.ReadCloser, error) {
	o := &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: n}}
	if etag != "" {
		e := azcore.ETag(quoteETag(etag))
		o.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &e}}
	}
	resp, err := a.cc.NewBlobClient(key).DownloadStream(ctx, o)
	if err != nil {
		return nil, err
	}
	if resp.ETag != nil && etag != "" && quoteETag(string(*resp.ETag)) != quoteETag(etag) {
		resp.Body.Close()
		return nil, ErrChanged
	}
	return resp.Body, nil
}

// quoteETag returns an ETag in its quoted form: listings and properties
// spell one ETag with and without the quotes.
func quoteETag(e string) string {
	return `"` + strings.Trim(e, `"`) + `"`
}

// written returns the ranges of a page blob that were ever written
// (Get Page Ranges), sorted, as [start, end) pairs: the rest reads as
// zeros and costs no request. A blob with more than maxPageRanges ranges
// is treated as wholly written.
func (a *azureBackend) written(ctx context.Context, key, etag string, alive func()) ([][2]int64, error) {
	o := &pageblob.GetPageRangesOptions{}
	if etag != "" {
		e := azcore.ETag(quoteETag(etag))
		o.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &e}}
	}
	pager := a.cc.NewPageBlobClient(key).NewGetPageRangesPager(o)
	var out [][2]int64
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		alive()
		for _, r := range page.PageRange {
			if r == nil || r.Start == nil || r.End == nil || *r.End < *r.Start || *r.Start < 0 {
				continue
			}
			out = append(out, [2]int64{*r.Start, *r.End + 1})
		}
		if len(out) > maxPageRanges {
			return nil, errTooManyRanges
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, nil
}

// maxPageRanges bounds what one blob's page ranges may hold in memory.
const maxPageRanges = 1 << 20

var errTooManyRanges = errors.New("too many page ranges")
