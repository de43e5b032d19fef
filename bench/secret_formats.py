"""Made-up secrets in the formats of ~90 services (the families of gitleaks' and
detect-secrets' rules), for bench/guard.py's provider-breadth set: for each rule of
crates/rampart-guard/src/secrets.rs, `FORMATS[name] = (text written before it, generator)`.
Values are random; none is a real credential. Also `lookalike(rng)`: values that look like
secrets and are not (digests, identifiers, public tokens, placeholders).
"""
import base64
import random
import string

R = random.Random(13)
A = string.ascii_letters + string.digits
U = string.ascii_uppercase + string.digits
L = string.ascii_lowercase + string.digits
H = "0123456789abcdef"


def r(al, n):
    return "".join(R.choice(al) for _ in range(n))


def uuid():
    return f"{r(H, 8)}-{r(H, 4)}-{r(H, 4)}-{r(H, 4)}-{r(H, 12)}"


def discord():
    uid = str(R.randint(10**17, 10**18 - 1))
    return base64.b64encode(uid.encode()).decode().rstrip("=") + "." + r(A + "_-", 6) + "." + r(A + "_-", 38)


def jwt():
    b = lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
    return b('{"alg":"RS256","typ":"JWT"}') + "." + b('{"sub":"' + r(string.digits, 9) + '"}') + "." + r(A + "-_", 86)


def pem():
    body = "\n".join(r(A + "+/", 64) for _ in range(5))
    return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"


FORMATS = {
 "aws-access-key-id": ("", lambda: "AKIA" + r(string.ascii_uppercase + "234567", 16)),
 "aws-secret-access-key": ("aws_secret_access_key = ", lambda: r(A + "/+", 40)),
 "gcp-api-key": ("", lambda: "AIza" + r(A + "-_", 35)),
 "gcp-service-account": ("", lambda: '{"type": "service_account", "project_id": "p' + r(L, 6) + '", "private_key": "-----BEGIN PRIVATE KEY-----\\n' + r(A + "+/", 64) + '\\n-----END PRIVATE KEY-----\\n"}'),
 "gcp-oauth-client-secret": ("client_secret: ", lambda: "GOCSPX-" + r(A + "-_", 28)),
 "google-oauth-access-token": ("Authorization: Bearer ", lambda: "ya29." + r(A + "-_", 120)),
 "google-oauth-refresh-token": ("refresh_token=", lambda: "1//0" + r(A + "-_", 60)),
 "azure-storage-key": ("DefaultEndpointsProtocol=https;AccountName=acct;", lambda: "AccountKey=" + r(A + "+/", 86) + "=="),
 "azure-ad-client-secret": ("AZURE_CLIENT_SECRET=", lambda: r(A + "_~.", 3) + str(R.randint(0, 9)) + "Q~" + r(A + "_~.-", 34)),
 "azure-sas-signature": ("https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&", lambda: "sig=" + r(A, 40) + "%2B" + r(A, 2) + "%3D"),
 "alibaba-access-key-id": ("", lambda: "LTAI5t" + r(A, 18)),
 "digitalocean-token": ("", lambda: "dop_v1_" + r(H, 64)),
 "cloudflare-origin-ca-key": ("", lambda: "v1.0-" + r(H, 24) + "-" + r(H, 146)),
 "databricks-token": ("", lambda: "dapi" + r(H, 32)),
 "heroku-api-key": ("", lambda: "HRKU-AA" + r(A + "_-", 58)),
 "heroku-api-key-assigned": ("HEROKU_API_KEY=", uuid),
 "fly-io-token": ("", lambda: "fo1_" + r(A + "_-", 43)),
 "hashicorp-vault-token": ("VAULT_TOKEN=", lambda: "hvs." + r(A + "_-", 90)),
 "terraform-cloud-token": ("", lambda: r(L, 14) + ".atlasv1." + r(A + "-_", 67)),
 "pulumi-token": ("", lambda: "pul-" + r(H, 40)),
 "doppler-token": ("", lambda: "dp.pt." + r(A, 43)),
 "openshift-token": ("oc login --token=", lambda: "sha256~" + r(A + "_-", 43)),
 "1password-service-account-token": ("", lambda: "ops_eyJ" + r(A + "+/", 300)),
 "artifactory-token": ("", lambda: "AKCp" + r(A, 69)),
 "github-token": ("", lambda: "ghp_" + r(A, 36)),
 "github-fine-grained-pat": ("", lambda: "github_pat_" + r(A, 22) + "_" + r(A, 59)),
 "gitlab-token": ("", lambda: R.choice(["glpat-", "gldt-", "glrt-", "glptt-"]) + r(A + "_-", 20)),
 "gitlab-runner-registration-token": ("", lambda: "GR1348941" + r(A + "_-", 20)),
 "atlassian-api-token": ("", lambda: "ATATT3" + r(A + "_-=", 186)),
 "dockerhub-token": ("", lambda: "dckr_pat_" + r(A + "_-", 27)),
 "npm-token": ("", lambda: "npm_" + r(A, 36)),
 "pypi-token": ("", lambda: "pypi-AgEIcHlwaS5vcmc" + r(A + "_-", 70)),
 "rubygems-api-key": ("", lambda: "rubygems_" + r(H, 48)),
 "nuget-api-key": ("", lambda: "oy2" + r(L, 43)),
 "clojars-token": ("", lambda: "CLOJARS_" + r(L, 60)),
 "postman-api-key": ("", lambda: "PMAK-" + r(H, 24) + "-" + r(H, 34)),
 "harness-api-key": ("", lambda: "pat." + r(A + "_-", 22) + "." + r(A, 24) + "." + r(A, 20)),
 "prefect-api-key": ("", lambda: "pnu_" + r(A, 36)),
 "openai-api-key": ("", lambda: "sk-proj-" + r(A, 40) + "T3BlbkFJ" + r(A, 40)),
 "openai-project-key": ("", lambda: "sk-proj-" + r(A + "_-", 156)),
 "anthropic-api-key": ("", lambda: "sk-ant-api03-" + r(A + "_-", 93) + "AA"),
 "huggingface-token": ("", lambda: "hf_" + r(string.ascii_letters, 34)),
 "groq-api-key": ("", lambda: "gsk_" + r(A, 52)),
 "replicate-api-token": ("", lambda: "r8_" + r(A, 37)),
 "perplexity-api-key": ("", lambda: "pplx-" + r(A, 48)),
 "xai-api-key": ("", lambda: "xai-" + r(A, 80)),
 "langsmith-api-key": ("", lambda: "lsv2_pt_" + r(H, 32) + "_" + r(H, 10)),
 "pinecone-api-key": ("", lambda: "pcsk_" + r(A, 6) + "_" + r(A, 63)),
 "elevenlabs-api-key": ("", lambda: "sk_" + r(H, 48)),
 "slack-token": ("", lambda: f"xoxb-{r(string.digits, 11)}-{r(string.digits, 12)}-{r(A, 24)}"),
 "slack-app-token": ("", lambda: f"xapp-1-A{r(U, 10)}-{r(string.digits, 13)}-{r(H, 64)}"),
 "slack-webhook": ("", lambda: f"https://hooks.slack.com/services/T{r(U, 8)}/B{r(U, 10)}/{r(A, 24)}"),
 "discord-webhook": ("", lambda: f"https://discord.com/api/webhooks/{r(string.digits, 18)}/{r(A + '_-', 68)}"),
 "discord-bot-token": ("", discord),
 "microsoft-teams-webhook": ("", lambda: f"https://contoso.webhook.office.com/webhookb2/{uuid()}@{uuid()}/IncomingWebhook/{r(H, 32)}/{uuid()}"),
 "telegram-bot-token": ("", lambda: f"{R.randint(10**8, 10**10 - 1)}:AA{r(A + '_-', 33)}"),
 "twilio": ("", lambda: "SK" + r(H, 32)),
 "sendgrid": ("", lambda: "SG." + r(A + "_-", 22) + "." + r(A + "_-", 43)),
 "mailgun-api-key": ("", lambda: "key-" + r(H, 32)),
 "mailchimp-api-key": ("", lambda: r(H, 32) + "-us" + str(R.randint(1, 21))),
 "twitter-bearer-token": ("", lambda: "A" * 22 + r(A, 30) + "%3D" + r(A, 50)),
 "facebook-access-token": ("", lambda: "EAAC" + r(A, 150)),
 "square-access-token": ("", lambda: "EAAA" + r(A + "_-", 60)),
 "square-oauth-secret": ("", lambda: "sq0csp-" + r(A + "_-", 43)),
 "shopify-token": ("", lambda: "shpat_" + r(H, 32)),
 "stripe-key": ("", lambda: "sk_live_" + r(A, 24)),
 "stripe-webhook-secret": ("", lambda: "whsec_" + r(A, 32)),
 "braintree-access-token": ("", lambda: "access_token$production$" + r(string.ascii_lowercase + string.digits, 16) + "$" + r(H, 32)),
 "flutterwave-secret-key": ("", lambda: "FLWSECK_TEST-" + r(H, 32) + "-X"),
 "shippo-api-token": ("", lambda: "shippo_live_" + r(H, 40)),
 "duffel-api-token": ("", lambda: "duffel_test_" + r(A + "_-", 43)),
 "easypost-api-key": ("", lambda: "EZAK" + r(A, 54)),
 "contentful-token": ("", lambda: "CFPAT-" + r(A + "_-", 43)),
 "typeform-token": ("", lambda: "tfp_" + r(A + "_-", 59)),
 "linear-api-key": ("", lambda: "lin_api_" + r(A, 40)),
 "notion-token": ("", lambda: "ntn_" + r(string.digits, 11) + r(A, 35)),
 "hubspot-private-app-token": ("", lambda: "pat-na1-" + uuid()),
 "dropbox-token": ("", lambda: "sl.u." + r(A + "_-", 140)),
 "mapbox-secret-token": ("", lambda: "sk.eyJ1IjoiYWNtZSIsImEiOiJ" + r(A, 20) + "." + r(A + "_-", 22)),
 "readme-api-key": ("", lambda: "rdme_" + r(L, 70)),
 "new-relic-key": ("", lambda: "NRAK-" + r(U, 27)),
 "grafana-token": ("", lambda: "glsa_" + r(A, 32) + "_" + r(H, 8)),
 "sentry-token": ("", lambda: "sntrys_eyJ" + r(A, 100)),
 "dynatrace-token": ("", lambda: "dt0c01." + r(U, 24) + "." + r(U, 64)),
 "datadog-api-key-assigned": ("DD_API_KEY=", lambda: r(H, 32)),
 "okta-api-token-assigned": ("OKTA_API_TOKEN: ", lambda: "00" + r(A + "_-", 40)),
 "supabase-key": ("", lambda: "sbp_" + r(H, 40)),
 "planetscale-token": ("", lambda: "pscale_tkn_" + r(A + "_", 43)),
 "infracost-api-key": ("", lambda: "ico-" + r(A, 32)),
 "age-secret-key": ("", lambda: "AGE-SECRET-KEY-1" + r("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
 "url-basic-auth": ("", lambda: f"https://deploy:{r(A, 14)}@git.corp.internal"),
 "jwt": ("Authorization: Bearer ", jwt),
 "private-key-block": ("", pem),
 "uri-with-password": ("", lambda: f"postgres://svc_app:{r(A, 16)}@db{R.randint(1, 9)}.internal:5432/prod"),
 "assigned-high-entropy": ("client_secret: ", lambda: r(A, 24)),
}



def lookalike():
    """A value shaped like a secret that is not one."""
    k = R.randrange(12)
    if k == 0:
        return r(H, 40)  # a commit
    if k == 1:
        return uuid()
    if k == 2:
        return "sha256:" + r(H, 64)
    if k == 3:
        return "sha512-" + r(A + "+/", 86) + "=="
    if k == 4:
        return "h1:" + r(A + "+/", 43) + "="
    if k == 5:
        return "pk.eyJ1IjoiYWNtZSIsImEiOiJ" + r(A, 20) + "." + r(A + "_-", 22)  # Mapbox public token
    if k == 6:
        return R.choice(["AKIAIOSFODNN7EXAMPLE", "sk-your-key-here", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "dapiXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"])
    if k == 7:
        return "https://" + r(string.ascii_lowercase, 8) + ".example.org/" + r(L, 12) + "?utm_source=mail&id=" + r(H, 24)
    if k == 8:
        return "1Z" + r(U, 16)  # a parcel tracking number
    if k == 9:
        return R.choice(["postgres://postgres:postgres@localhost:5432/app", "https://user:password@example.com/", "redis://:${REDIS_PASSWORD}@cache:6379"])
    if k == 10:
        # An image's base64 holds runs of "A" (zero bytes), some right after a "/".
        return "data:image/png;base64," + r(A + "+/", 30) + "/" + "A" * R.randint(20, 40) + r(A, 70) + "=="
    return "v" + str(R.randint(1, 9)) + "." + str(R.randint(0, 30)) + "-" + r(H, 7)  # a build id
