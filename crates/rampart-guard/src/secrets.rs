//! Secrets: the rule families of gitleaks and detect-secrets — cloud provider keys, VCS and
//! SaaS tokens, JWTs, private key blocks, connection strings with passwords, and high-entropy
//! values assigned to secret-sounding names.

use crate::gate::Gate;
use crate::text::entropy;
use crate::{Detector, Finding, finding};
use regex::Regex;
use std::sync::LazyLock;

/// A rule: the type it reports, its name, the pattern (capture group 1 is the secret when
/// present) and a validator of the captured value.
struct Rule {
    kind: &'static str,
    name: &'static str,
    re: Regex,
    valid: fn(&str) -> bool,
}

/// Provider-format tokens: anything but a template placeholder (`AKIAXXXXXXXXXXXXXXXX`).
fn any(s: &str) -> bool {
    !placeholder(s)
}

fn mixed(s: &str) -> bool {
    let classes = [
        s.bytes().any(|b| b.is_ascii_lowercase()),
        s.bytes().any(|b| b.is_ascii_uppercase()),
        s.bytes().any(|b| b.is_ascii_digit()),
    ];
    classes.iter().filter(|x| **x).count() >= 2
}

fn random_looking(s: &str) -> bool {
    mixed(s) && entropy(s) >= 3.5 && !placeholder(s)
}

/// Values people write in examples and templates.
fn placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "xxxx",
        "****",
        "changeme",
        "change_me",
        "your",
        "placeholder",
        "dummy",
        "sample",
        "redacted",
        "<",
        "${",
        "{{",
        "%(",
        "todo",
        "secret_here",
        "password1",
    ];
    WORDS.iter().any(|w| l.contains(w)) || s.chars().all(|c| c == s.chars().next().unwrap_or(c))
}

fn jwt(s: &str) -> bool {
    use base64::Engine;
    let head = s.split('.').next().unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("alg").is_some() || v.get("typ").is_some())
}

fn rule(kind: &'static str, name: &'static str, re: &str, valid: fn(&str) -> bool) -> Option<Rule> {
    Regex::new(re).ok().map(|re| Rule {
        kind,
        name,
        re,
        valid,
    })
}

/// A Discord bot token's first part is the bot's user id (a snowflake of 17 to 20 digits),
/// base64-encoded: a random string of the same shape is not a token.
fn discord_bot(s: &str) -> bool {
    use base64::Engine;
    let id = s.split('.').next().unwrap_or("");
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(id.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id))
        .ok()
        .is_some_and(|b| (17..=20).contains(&b.len()) && b.iter().all(u8::is_ascii_digit))
}

/// Whether the password of a URL's `user:password@` part is real: not a placeholder, not a
/// word that stands for one (`https://user:pass@host`, `postgres://u:password@localhost`).
fn url_password(s: &str) -> bool {
    let (user, pw) = s
        .split("://")
        .nth(1)
        .and_then(|r| r.rsplit_once('@'))
        .and_then(|(cred, _)| cred.split_once(':'))
        .unwrap_or_default();
    const WORDS: &[&str] = &[
        "password",
        "pass",
        "passwd",
        "pwd",
        "secret",
        "pw",
        "token",
        "apikey",
        "api_key",
        "user",
        "admin",
        "root",
        "test",
        "guest",
        "foo",
        "bar",
        "mypassword",
        "p@ssw0rd",
    ];
    // A password equal to the user name is a local default (`postgres:postgres@localhost`).
    !placeholder(pw) && !WORDS.contains(&pw.to_ascii_lowercase().as_str()) && pw != user
}

/// The rules: provider formats first (prefixes, lengths and alphabets as the providers
/// document them, the families of gitleaks' and detect-secrets' rule sets), then the
/// structured secrets (JWTs, key blocks, credentials in URLs), then values assigned to
/// secret-sounding names. Every rule has a sample in the tests.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        // Cloud providers.
        rule("AWS_ACCESS_KEY_ID", "aws-access-key-id", r"\b((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16})\b", any),
        rule(
            "AWS_SECRET_ACCESS_KEY",
            "aws-secret-access-key",
            r#"(?i)(?:aws|amazon)[\w\-. ]{0,30}?(?:secret|private)?[\w\-. ]{0,20}?(?:key|token)?["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            random_looking,
        ),
        rule("GOOGLE_API_KEY", "gcp-api-key", r"\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)", any),
        rule("GCP_SERVICE_ACCOUNT", "gcp-service-account", r#""type"\s*:\s*"service_account"[^}]{0,2000}?"private_key"\s*:\s*"(-----BEGIN[^"]{20,}?)""#, any),
        rule("GCP_OAUTH_CLIENT_SECRET", "gcp-oauth-client-secret", r"\b(GOCSPX-[A-Za-z0-9_\-]{28})(?:[^A-Za-z0-9_\-]|$)", any),
        rule("GOOGLE_OAUTH_TOKEN", "google-oauth-access-token", r"\b(ya29\.[A-Za-z0-9_\-]{30,})", mixed),
        rule("GOOGLE_OAUTH_TOKEN", "google-oauth-refresh-token", r"\b(1//0[A-Za-z0-9_\-]{40,})", mixed),
        rule("AZURE_STORAGE_KEY", "azure-storage-key", r"AccountKey=([A-Za-z0-9+/]{86}==)", any),
        rule("AZURE_CLIENT_SECRET", "azure-ad-client-secret", r#"(?:^|[\s"'`=:(,>])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})(?:$|[\s"'`<),;])"#, mixed),
        // A SAS URL's signature: an HMAC-SHA256 in base64 (43 characters and "="), URL-encoded.
        rule("AZURE_SAS_TOKEN", "azure-sas-signature", r"[?&]sig=((?:[A-Za-z0-9]|%2[BbFf]){40,60}(?:%3[Dd]|=))", mixed),
        rule("ALIBABA_ACCESS_KEY_ID", "alibaba-access-key-id", r"\b(LTAI[A-Za-z0-9]{17,21})\b", mixed),
        rule("DIGITALOCEAN_TOKEN", "digitalocean-token", r"\b(do[opr]_v1_[a-f0-9]{64})\b", any),
        rule("CLOUDFLARE_ORIGIN_CA_KEY", "cloudflare-origin-ca-key", r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b", any),
        rule("DATABRICKS_TOKEN", "databricks-token", r"\b(dapi[a-f0-9]{32}(?:-\d)?)\b", any),
        rule("HEROKU_API_KEY", "heroku-api-key", r"\b(HRKU-AA[A-Za-z0-9_\-]{58})(?:[^A-Za-z0-9_\-]|$)", any),
        rule(
            "HEROKU_API_KEY",
            "heroku-api-key-assigned",
            r#"(?i)heroku[\w\-. ]{0,20}?(?:api[_\-. ]?)?(?:key|token)["']?\s*[:=]\s*["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
            any,
        ),
        rule("FLY_IO_TOKEN", "fly-io-token", r"\b(fo1_[A-Za-z0-9_\-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})", any),
        rule("VAULT_TOKEN", "hashicorp-vault-token", r"\b(hv[sbr]\.[A-Za-z0-9_\-]{24,})", mixed),
        rule("TERRAFORM_CLOUD_TOKEN", "terraform-cloud-token", r"\b([a-z0-9]{14}\.atlasv1\.[A-Za-z0-9\-_=]{60,70})", any),
        rule("PULUMI_TOKEN", "pulumi-token", r"\b(pul-[a-f0-9]{40})\b", any),
        rule("DOPPLER_TOKEN", "doppler-token", r"\b(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})\b", any),
        rule("OPENSHIFT_TOKEN", "openshift-token", r"\b(sha256~[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)", mixed),
        rule("ONEPASSWORD_TOKEN", "1password-service-account-token", r"\b(ops_eyJ[A-Za-z0-9+/]{250,}={0,3})", any),
        rule("ARTIFACTORY_TOKEN", "artifactory-token", r"\b(AKCp[A-Za-z0-9]{69}|cmVmdGtuOjAxOj[A-Za-z0-9]{40,})\b", any),
        // Source hosting, CI and package registries.
        rule("GITHUB_TOKEN", "github-token", r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,251})\b", any),
        rule("GITHUB_TOKEN", "github-fine-grained-pat", r"\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b", any),
        rule("GITLAB_TOKEN", "gitlab-token", r"\b(gl(?:pat|dt|ft|rt|soat|cbt|oas|ptt|imt|agent)-[A-Za-z0-9_\-]{20,})", any),
        rule("GITLAB_TOKEN", "gitlab-runner-registration-token", r"\b(GR1348941[A-Za-z0-9_\-]{20,})", any),
        rule("ATLASSIAN_API_TOKEN", "atlassian-api-token", r"\b(ATATT3[A-Za-z0-9_\-=]{180,})", any),
        rule("DOCKERHUB_TOKEN", "dockerhub-token", r"\b(dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,})", any),
        rule("NPM_TOKEN", "npm-token", r"\b(npm_[A-Za-z0-9]{36})\b", any),
        rule("PYPI_TOKEN", "pypi-token", r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})", any),
        rule("RUBYGEMS_API_KEY", "rubygems-api-key", r"\b(rubygems_[a-f0-9]{48})\b", any),
        rule("NUGET_API_KEY", "nuget-api-key", r"\b(oy2[a-z0-9]{43})\b", mixed),
        rule("CLOJARS_TOKEN", "clojars-token", r"\b(CLOJARS_[a-z0-9]{60})\b", any),
        rule("POSTMAN_API_KEY", "postman-api-key", r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b", any),
        rule("HARNESS_API_KEY", "harness-api-key", r"\b(pat\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20})\b", mixed),
        rule("PREFECT_API_KEY", "prefect-api-key", r"\b(pnu_[A-Za-z0-9]{36})\b", any),
        // AI and ML services.
        rule("OPENAI_API_KEY", "openai-api-key", r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})", any),
        rule("OPENAI_API_KEY", "openai-project-key", r"\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{80,})", any),
        rule("ANTHROPIC_API_KEY", "anthropic-api-key", r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,})", any),
        rule("HUGGINGFACE_TOKEN", "huggingface-token", r"\b((?:hf_|api_org_)[A-Za-z]{34})\b", any),
        rule("GROQ_API_KEY", "groq-api-key", r"\b(gsk_[A-Za-z0-9]{52})\b", any),
        rule("REPLICATE_API_TOKEN", "replicate-api-token", r"\b(r8_[A-Za-z0-9]{37})\b", any),
        rule("PERPLEXITY_API_KEY", "perplexity-api-key", r"\b(pplx-[A-Za-z0-9]{48})\b", any),
        rule("XAI_API_KEY", "xai-api-key", r"\b(xai-[A-Za-z0-9]{80})\b", any),
        rule("LANGSMITH_API_KEY", "langsmith-api-key", r"\b(lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b", any),
        rule("PINECONE_API_KEY", "pinecone-api-key", r"\b(pcsk_[A-Za-z0-9]{4,10}_[A-Za-z0-9]{40,})\b", any),
        rule("ELEVENLABS_API_KEY", "elevenlabs-api-key", r"\b(sk_[a-f0-9]{48})\b", any),
        // Messaging, payments and other SaaS.
        rule("SLACK_TOKEN", "slack-token", r"\b(xox(?:[abposr]|e(?:\.xox[bp])?)-[A-Za-z0-9-]{10,250})\b", any),
        rule("SLACK_TOKEN", "slack-app-token", r"\b(xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]{64})\b", any),
        rule("SLACK_WEBHOOK", "slack-webhook", r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Za-z0-9_]{8,}/[A-Za-z0-9_]{8,}/[A-Za-z0-9_]{20,})", any),
        rule("DISCORD_WEBHOOK", "discord-webhook", r"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_\-]{60,68})", any),
        rule("DISCORD_BOT_TOKEN", "discord-bot-token", r"\b([MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})\b", discord_bot),
        rule("TEAMS_WEBHOOK", "microsoft-teams-webhook", r"(https://[A-Za-z0-9\-]+\.webhook\.office\.com/webhookb2/[A-Za-z0-9\-]{36}@[A-Za-z0-9\-]{36}/IncomingWebhook/[A-Za-z0-9]{32}/[A-Za-z0-9\-]{36}(?:/[A-Za-z0-9_\-]{20,})?)", any),
        rule("TELEGRAM_BOT_TOKEN", "telegram-bot-token", r"\b(\d{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|$)", any),
        rule("TWILIO_API_KEY", "twilio", r"\b(SK[0-9a-f]{32})\b", any),
        rule("SENDGRID_API_KEY", "sendgrid", r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)", any),
        rule("MAILGUN_API_KEY", "mailgun-api-key", r"\b(key-[a-f0-9]{32})\b", mixed),
        rule("MAILCHIMP_API_KEY", "mailchimp-api-key", r"\b([a-f0-9]{32}-us\d{1,2})\b", mixed),
        // App-only bearer tokens are URL-encoded (`%2B`, `%3D`): base64 of binary data
        // (an image in a data URI) has runs of `A` too, but no `%`, and goes on past them.
        rule("TWITTER_BEARER_TOKEN", "twitter-bearer-token", r"(?:^|[^A-Za-z0-9+/=%])(A{20,22}[A-Za-z0-9%]{60,})", |s| s.contains('%') && mixed(s)),
        rule("FACEBOOK_ACCESS_TOKEN", "facebook-access-token", r"\b(EAA[MC][A-Za-z0-9]{90,})\b", mixed),
        rule("SQUARE_ACCESS_TOKEN", "square-access-token", r"\b(EAAA[A-Za-z0-9_\-]{60}|sq0atp-[A-Za-z0-9_\-]{22})(?:[^A-Za-z0-9_\-]|$)", mixed),
        rule("SQUARE_OAUTH_SECRET", "square-oauth-secret", r"\b(sq0csp-[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)", any),
        rule("SHOPIFY_TOKEN", "shopify-token", r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b", any),
        rule("STRIPE_KEY", "stripe-key", r"\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247})\b", any),
        rule("STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", r"\b(whsec_[A-Za-z0-9+/]{32,})", any),
        rule("BRAINTREE_ACCESS_TOKEN", "braintree-access-token", r"\b(access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})\b", any),
        rule("FLUTTERWAVE_SECRET_KEY", "flutterwave-secret-key", r"\b(FLWSECK(?:_TEST)?-[a-f0-9]{32}-X)\b", any),
        rule("SHIPPO_API_TOKEN", "shippo-api-token", r"\b(shippo_(?:live|test)_[a-f0-9]{40})\b", any),
        rule("DUFFEL_API_TOKEN", "duffel-api-token", r"\b(duffel_(?:test|live)_[A-Za-z0-9_\-=]{43})", any),
        rule("EASYPOST_API_KEY", "easypost-api-key", r"\b(EZ[AT]K[A-Za-z0-9]{54})\b", any),
        rule("CONTENTFUL_TOKEN", "contentful-token", r"\b(CFPAT-[A-Za-z0-9_\-=]{43})", any),
        rule("TYPEFORM_TOKEN", "typeform-token", r"\b(tfp_[A-Za-z0-9_\-.=]{59})", any),
        rule("LINEAR_API_KEY", "linear-api-key", r"\b(lin_api_[A-Za-z0-9]{40})\b", any),
        rule("NOTION_TOKEN", "notion-token", r"\b(secret_[A-Za-z0-9]{43}|ntn_\d{11}[A-Za-z0-9]{35})\b", mixed),
        rule("HUBSPOT_TOKEN", "hubspot-private-app-token", r"\b(pat-(?:na|eu)\d-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", any),
        rule("DROPBOX_TOKEN", "dropbox-token", r"\b(sl\.(?:u\.)?[A-Za-z0-9_\-]{130,})", mixed),
        rule("MAPBOX_SECRET_TOKEN", "mapbox-secret-token", r"\b(sk\.eyJ[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{20,})", any),
        rule("README_API_KEY", "readme-api-key", r"\b(rdme_[a-z0-9]{70})\b", any),
        // Monitoring and databases as a service.
        rule("NEW_RELIC_KEY", "new-relic-key", r"\b(NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9\-]{32})(?:[^A-Za-z0-9\-]|$)", mixed),
        rule("GRAFANA_TOKEN", "grafana-token", r"\b(glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})", any),
        rule("SENTRY_TOKEN", "sentry-token", r"\b(sntry[su]_[A-Za-z0-9+/=_\-]{60,})", any),
        rule("DYNATRACE_TOKEN", "dynatrace-token", r"\b(dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64})\b", any),
        rule(
            "DATADOG_API_KEY",
            "datadog-api-key-assigned",
            r#"(?i)(?:datadog|\bdd)[_\-. ]?(?:api|app|application)?[_\-. ]?key["']?\s*[:=]\s*["']?([a-f0-9]{40}|[a-f0-9]{32})\b"#,
            mixed,
        ),
        rule(
            "OKTA_API_TOKEN",
            "okta-api-token-assigned",
            r#"(?i)okta[\w\-. ]{0,20}?(?:api[_\-. ]?)?(?:key|token)["']?\s*[:=]\s*["']?(00[A-Za-z0-9_\-]{40})(?:[^A-Za-z0-9_\-]|$)"#,
            random_looking,
        ),
        rule("SUPABASE_KEY", "supabase-key", r"\b(sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_\-]{31,})", any),
        rule("PLANETSCALE_TOKEN", "planetscale-token", r"\b(pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.\-]{32,64})", any),
        rule("INFRACOST_API_KEY", "infracost-api-key", r"\b(ico-[A-Za-z0-9]{32})\b", mixed),
        // Key material and credentials in structured text.
        rule("AGE_SECRET_KEY", "age-secret-key", r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b", any),
        rule("JWT", "jwt", r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})", jwt),
        rule(
            "PRIVATE_KEY",
            "private-key-block",
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]+?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)",
            any,
        ),
        rule(
            "CONNECTION_STRING",
            "uri-with-password",
            r"\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|ftp|sftp|ldaps?)://[^\s:/@]{1,128}:[^\s@/]{3,256}@[^\s/?#]{1,253}[^\s]*)",
            url_password,
        ),
        // detect-secrets' basic-auth check: a password in any web URL.
        rule("BASIC_AUTH", "url-basic-auth", r"\b(https?://[^\s:/@]{1,128}:[^\s@/]{3,256}@[^\s/?#]{1,253})", url_password),
        rule(
            "SECRET",
            "assigned-high-entropy",
            r#"(?i)(?:api[_\-]?key|apikey|secret|token|passwd|password|pwd|auth|credential|access[_\-]?key)[\w\-]{0,20}["']?\s*(?:[:=]|=>|:=)\s*["']?([A-Za-z0-9_\-+/=.!@#$%^&*~]{12,200})"#,
            random_looking,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Which rules can match a text (see [`crate::gate`]), rule `i` being `RULES[i]`.
static GATE: LazyLock<Gate> = LazyLock::new(|| Gate::new(RULES.iter().map(|r| r.re.as_str())));

/// Compiles this module's expressions now rather than on first use (see [`crate::warm_up`]).
pub(crate) fn warm() {
    LazyLock::force(&RULES);
    LazyLock::force(&GATE);
}

/// Whether [`warm`] (or a first use) has compiled this module's expressions.
pub(crate) fn compiled() -> bool {
    LazyLock::get(&RULES).is_some() && LazyLock::get(&GATE).is_some()
}

/// Secrets in `t` (byte ranges).
pub fn find(t: &str) -> Vec<Finding> {
    let run = GATE.open(t);
    find_where(t, |i| run.get(i).copied().unwrap_or(true))
}

/// [`find`] with every rule run, without the [`GATE`]: what the tests and the fuzz target
/// check the gate against.
pub(crate) fn ungated_find(t: &str) -> Vec<Finding> {
    find_where(t, |_| true)
}

fn find_where(t: &str, run: impl Fn(usize) -> bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, r) in RULES.iter().enumerate() {
        if !run(i) {
            continue;
        }
        for c in r.re.captures_iter(t) {
            let Some(m) = c.get(1).or_else(|| c.get(0)) else {
                continue;
            };
            if (r.valid)(m.as_str()) {
                out.push(finding(
                    r.kind,
                    Detector::Secrets,
                    r.name,
                    (m.start(), m.end()),
                ));
            }
        }
    }
    out
}

/// Number of rules (for documentation and tests).
pub fn rule_count() -> usize {
    RULES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<&'static str> {
        crate::Guards::default()
            .check(t, &[Detector::Secrets])
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    /// One sample per rule (made-up values in each provider's format), each inside a sentence.
    const SAMPLES: &[(&str, &str)] = &[
        ("aws-access-key-id", "AKIAQWB5PDKHX6PYGPAN"),
        (
            "aws-secret-access-key",
            "aws_secret_access_key = 0JxXujr4qqaaABvvLOzAxzXMcU1vsHiQMaRiNTN9",
        ),
        ("gcp-api-key", "AIzaOx98whGcTZc1UWb5fxzpF7STG7nVLe3lARU"),
        (
            "gcp-oauth-client-secret",
            "client_secret: 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",
        ),
        (
            "google-oauth-access-token",
            "Authorization: Bearer ya29.qq0nv3Vth1Ls6v6-O9JL8ZsoWw_Rxl-IUiTeNUJ-HLRwb8GPJ7KTSJS0Sw5UQsvzU9Kk1v1MIdzu4xCxf8CvgroOx9ye17SWjAEVaSZJ0oVeMmLRLTq10V7s",
        ),
        (
            "google-oauth-refresh-token",
            "refresh_token=1//0uW9zrlSaWnPsPW23C_L9WXuHM_G1cON-Ks9dp4FLfrYb9JF8eF-ItKL_8pcq",
        ),
        (
            "azure-storage-key",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=MKRLd7SUqeaG6nyb229X8YzL7iMa3K8Nsv9/Qt2giDIkidQ2iZ+gppCorL4txx0uiBfnWjJhpZrb3lO++TVhrL==",
        ),
        (
            "azure-ad-client-secret",
            "AZURE_CLIENT_SECRET=t.L8Q~CHiEGKrEV6XwqcRkelp.6EX79PndXgt2Co",
        ),
        (
            "azure-sas-signature",
            "https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&sig=f6QF0niSNyw1psv7NTwYyyiU1wPsZOB92xHcLKnV%2Blz%3D",
        ),
        ("alibaba-access-key-id", "LTAI5tegcclmmcF47EQWwaBE"),
        (
            "digitalocean-token",
            "dop_v1_9daee36452bcf48385971f1bba10ef43a9e7516072cb95eb92e57561d80e1ed5",
        ),
        (
            "cloudflare-origin-ca-key",
            "v1.0-11b327f2f171fc118de91165-c672a325260ebfdc409e7349f28ca442f72d781f7169b32dac0940e401d83c4a29548fa91200314bd807d4b6ab0553854edd3aae7ed5e15ff034d16017fbce66869b7bb71fcb447fc1",
        ),
        ("databricks-token", "dapi35c396aff26c035c0a09cfce14db0699"),
        (
            "heroku-api-key",
            "HRKU-AAjdlT0NbJEjelMSA9lpER2YaXWwAPXPnVFmBLNIjvj0xCi01D29FM1JkQx1",
        ),
        (
            "heroku-api-key-assigned",
            "HEROKU_API_KEY=04395d6a-3a21-f42a-6ec7-f306532a4b3e",
        ),
        (
            "fly-io-token",
            "fo1_PxnUnizAPVw6kFZ7WapVqa-WRj_Lco9TzRWsL-loL0R",
        ),
        (
            "hashicorp-vault-token",
            "VAULT_TOKEN=hvs.i3gC1EIjsIm93xXFl5TqkasUccG6XkgBy4b8kJ8cguY3eBd103WbvRsMy2jVBY1yIr8UKapv6jjWe0tzc-O6r7EjUd",
        ),
        (
            "terraform-cloud-token",
            "al1frixvnjs79f.atlasv1.KonZVMV94ErHcbXrE9hbbB1DENhEeXScM45npVJXWMvj5hBXmMV0r6Si_aA6fhloRsV",
        ),
        (
            "pulumi-token",
            "pul-a88f438808c578e541b30e1f10d3de732212e928",
        ),
        (
            "doppler-token",
            "dp.pt.hzWtqDtta4WuHQ5FDyjPn8qu8NnDfjwfOBCNHPzlmi6",
        ),
        (
            "openshift-token",
            "oc login --token=sha256~_v5Scs3I-BEv1GOLnzH2TH_looRmnKwgXwQHm0QmNiL",
        ),
        (
            "1password-service-account-token",
            "ops_eyJR00iiMixfm0n71jC1dLnPUj7WnvFomkW3oIN62fArWxyPjrNg7N4GKvG68Zmrz6n4DrFvl5G7u9nMGTgpAdR9+KQhKr1L1VqLyea+uN1K17RPbu/a97VfDa9pzvvEZnX1DJbAEiV3NCmV4hHas2h7byynw6489Ljd7Ac4ziRzmVlwCYae2hMyXYvoXyBqZ5s0dJ6zIlD214yzPGfyuUm3UsKxat2na7Pk+tVahV9H5Q0vY24cD9Lnj9CkOmkP0wPSfNpkkf+8B4Mt2J5jFLlMjWL0muS2lRATn7Pm/Pe5hDK",
        ),
        (
            "artifactory-token",
            "AKCptqD04GHwGGf2GK4CAQmNUz7BhieCu4ctYxAM8LglaCjUtcKgLWS5de7fsOssBQocBDskS",
        ),
        ("github-token", "ghp_vHSGK2z1DND2clxEu2NfhC4rx6Yv8O8hyz2C"),
        (
            "github-fine-grained-pat",
            "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",
        ),
        ("gitlab-token", "glpat-NpFioSRG0vINiYwE_bN8"),
        (
            "gitlab-runner-registration-token",
            "GR1348941DhBXmK_eHa6spkFOVE_a",
        ),
        (
            "atlassian-api-token",
            "ATATT3aPYTOIBL5tbzDaMlDEAXBKrAvp_C4NGkx7mS8bMbvuNWJ8Rry5ync-xLdzIuJZIkTNoFcDJW4Gi9Y_tZ9hYfz=HQ=wV3uXDhKD1_9w79_4EEPCskp57bsb_rofi24xpcQ3RCu--PgOb-fAyGJMDE4i-9DQ1HBU3aOptEOKETFLn9GpIfsnm4MsCOPx",
        ),
        ("dockerhub-token", "dckr_pat_f32XaoHYlmaON7rtUMJk32a69N8"),
        ("npm-token", "npm_gtHXepBhgLpPGNyHmRRREHHxmjTbbhNzAa9R"),
        (
            "pypi-token",
            "pypi-AgEIcHlwaS5vcmc7RDO-HAD_9GiIkL3f7gwgD2tASEi2xC5_r4uU9o7Mj7PUFjJVNeSVSvCW0VI10CxdRfmz2",
        ),
        (
            "rubygems-api-key",
            "rubygems_f3d6b7c31ca7b5da89fa571ea72fb9294af5f6ce8063d50a",
        ),
        (
            "nuget-api-key",
            "oy2qbb9w1h7olusnzki4sz3uquvcsz49pqegfg0gxi50c4",
        ),
        (
            "clojars-token",
            "CLOJARS_xuqh79mh5iewsiodyhi2en2erag7no165thoi95x5bi0ricyc0kw3450ouw4",
        ),
        (
            "postman-api-key",
            "PMAK-d3006e4aad2a8c23222426fd-bc7b662981dc7a4406e610b8fff2e2a512",
        ),
        (
            "harness-api-key",
            "pat.cPmo8bE7dEWSofoz8OICU7.Lnpm7l4mhULyOEbR4r7MEnao.bIVB75jjy63qlvIgSuqm",
        ),
        (
            "prefect-api-key",
            "pnu_xP1IQSxlWBUkFpZvdkR8HJsqZjh6CehHiqVX",
        ),
        (
            "openai-api-key",
            "sk-proj-xrd2C827oQ73EX4oDlIkq1WQxO4mTQB8bcrvAoxhT3BlbkFJL4aTDU5K8uSGR3MhvYYDTFy8XJfMUt1QLF08nBq8",
        ),
        (
            "openai-project-key",
            "sk-proj-fjUR2VGzmGqHskykvVjqHI2pWKY43FkqAVDFIWu6T1XrJSkQuYiXoLwd-zc4-iQQuE4bMu8m0SVtHFFxswH2_5Ew0eswVyaLAYbq4Gtl6QuiB4yT-6jsJislnkH27CD83_iY7NPF8brdISj5WC7k_FQ3YBxS",
        ),
        (
            "anthropic-api-key",
            "sk-ant-api03-PCz_jP3KsHTHUVygWrXMvbQOqrR1ERYFFN-qAYpsM2elJRt2Ac8RtVYevKN4kdwnkcfR35JUY0fJmvzWScAslzHrMXLh4AA",
        ),
        ("huggingface-token", "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"),
        (
            "groq-api-key",
            "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",
        ),
        (
            "replicate-api-token",
            "r8_lzDbwlhPkTOwSMzkAQpYOY6KHK9aDrpATeWej",
        ),
        (
            "perplexity-api-key",
            "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",
        ),
        (
            "xai-api-key",
            "xai-fhjI9wE7snecBmpGl4vWhbbfSdw5qAthaBNGvdNIPabtxT02Ul7Aw8NuwhJpZ33wkQB8mN3mGEquCENN",
        ),
        (
            "langsmith-api-key",
            "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",
        ),
        (
            "pinecone-api-key",
            "pcsk_UiD6zn_RpxMOT0cJLbHRJIGSZT0z3Av2cKE7bmO7EeVO1TUxSVv1U0O3og3IEkH6mH1QEO",
        ),
        (
            "elevenlabs-api-key",
            "sk_1e7b31615f2ce3a768567cd5ec62d1cc26f9d88af243a343",
        ),
        (
            "slack-token",
            "xoxb-90916041494-045748712844-XIDtS5b7iKEg7xlTrKqrXzWd",
        ),
        (
            "slack-app-token",
            "xapp-1-A8ZLYE3KC0Y-1451005558861-469b73d52ab11b230b42459e7610e82f415425996f75fd84cea651769219573c",
        ),
        (
            "slack-webhook",
            "https://hooks.slack.com/services/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",
        ),
        (
            "discord-webhook",
            "https://discord.com/api/webhooks/549836373351294009/U8QsVxHPsgLo1weL0753r-CtxED8NgKn0scsDnOdqSdtKGcfBbHapw6TFQgROx3Rk-yv",
        ),
        (
            "discord-bot-token",
            "ODkxNDM3ODM1MTAzNDU5MzYy.fw8LY4.XZRxRDE7A9Nbgf7nKl7XjikPMKdl5m5CyBoSYR",
        ),
        (
            "microsoft-teams-webhook",
            "https://contoso.webhook.office.com/webhookb2/529844a0-9aba-af6d-a0c3-2d0e043bc5f0@1283acc2-833e-1c60-e58f-306084663f09/IncomingWebhook/21633fd7549f1edc31a73e3b60c17b82/e01fffe8-e019-2b95-b90c-c80845aaaed2",
        ),
        (
            "telegram-bot-token",
            "6547787391:AA2TnqjLHdiT8sOk-zQvVETugn1ltNkHSNz",
        ),
        ("twilio", "SK0632d4ee7c07e12f6d712c7e18b383ee"),
        (
            "sendgrid",
            "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",
        ),
        ("mailgun-api-key", "key-84acb873c10d369aa4e668cd0bb3a7ac"),
        ("mailchimp-api-key", "837a764c6cf3fe5cc5b75d8305b040ac-us20"),
        (
            "twitter-bearer-token",
            "AAAAAAAAAAAAAAAAAAAAAA6CO4LVexIOenU8Zkq6zIbjVxmZRaqW%3DihYn4H5hRfPNkwIuVO4b6u8H8EbATyab6PhwBhYxlQwVAAzhOU",
        ),
        (
            "facebook-access-token",
            "EAACMmE4QxQHVbniqmOl0lpgn6LfFgJksa3dVPBtbgaclUqbwCkHRxCtV8A9pWVIj82SloKinjjg4yRMFnIfUvgDx4F5c0gqd0tr9L0IEoeI9qOYvpEYpmmadCK4vO7qdG1v1Q2s7kM1cQiIu6vVJGFNjI",
        ),
        (
            "square-access-token",
            "EAAAxvoPwAEdt8powicBsEI4XbwWyzLkpKYbhcqDnQ1R93hKr48Cn0d8nk2rL6kl",
        ),
        (
            "square-oauth-secret",
            "sq0csp-vd2wSKwpwonvFjV34w-oCGpImKvbDprQX6fjiexB0p1",
        ),
        ("shopify-token", "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"),
        ("stripe-key", "sk_live_gxHHPrPftssASXio2B54RGrN"),
        (
            "stripe-webhook-secret",
            "whsec_7bgUm1zwRNFg67LBYD1o53u94A6Hcs5S",
        ),
        (
            "braintree-access-token",
            "access_token$production$4vb26j2bkyhntne4$43039f1d64707deedaf1455617d10a29",
        ),
        (
            "flutterwave-secret-key",
            "FLWSECK_TEST-13823f48dfde0e15438ef52eb287723a-X",
        ),
        (
            "shippo-api-token",
            "shippo_live_0252df32235e8621814a5aabe806deceaba48e0a",
        ),
        (
            "duffel-api-token",
            "duffel_test_xVGiF6zT9HCbGaN0SvETBTWJ-ilIrn9okjy47EjquOu",
        ),
        (
            "easypost-api-key",
            "EZAK7Y8uzSGSot1JiutDmkVZ3FCDvJ61gjW7uu6MqT3U2vuJnROWeQKOtE",
        ),
        (
            "contentful-token",
            "CFPAT-4n3IPjvPOsgdvXS0-P2uj4Rgcal0t5IxEURytDIR2La",
        ),
        (
            "typeform-token",
            "tfp_P_TjB5udTA4okzll7rZRB2RtvkOEy3FYlLlbp4NC4V-CQQPhu-Wv2jy2ojG",
        ),
        (
            "linear-api-key",
            "lin_api_9n4eZAMYFPIy60BFVmeKPmnJUJsub5CqoVGaABNo",
        ),
        (
            "notion-token",
            "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",
        ),
        (
            "hubspot-private-app-token",
            "pat-na1-9ee06399-2b21-58af-fd9e-db03b8649234",
        ),
        (
            "dropbox-token",
            "sl.u.qeJF8Lxyn155EWvrKV1w6KNO5_WAL3pj8adkj0eRGvuVrF1obym__w1Gk95ZiHMeYFIPEWaaPO1bNMRdztZcmUP_DALya90ffT7n47W60tMGfrbqlXoXBvOYSZVgNojh-9PBMUbmN6N3",
        ),
        (
            "mapbox-secret-token",
            "sk.eyJ1IjoiYWNtZSIsImEiOiJSj1hYuCa3cnYn6cOkZRk.rcgio4cV8MyYqvKewg2k0G",
        ),
        (
            "readme-api-key",
            "rdme_87hl93c5b5r6vuwj8r4vxs1mbpf8eiydc9bqsbnkf6lumbdfvk0jxftfmipuqlh6fovpcp",
        ),
        ("new-relic-key", "NRAK-IHZ7BDVH1TXZCFZ7O88CI4CFAA9"),
        (
            "grafana-token",
            "glsa_dMJgL1aA6i9LuqZnZnDYHgdpViCQJRxB_440c1e5a",
        ),
        (
            "sentry-token",
            "sntrys_eyJnj8ckHCzBi9LEoV6UPsbDXDXvmIkU776kyrvuWD2EeB5ctH0qq6fOQsi1JLmOUVJUDnG3DVeWpVmo6XU6lsot4F8Suj9sgIiahvn",
        ),
        (
            "dynatrace-token",
            "dt0c01.QWHN7NYQ0P0AEZG26802NMU4.ISPB5O5J7JT8Q8WR1XA9XH8BMNAW7S32WU3A36IX13PLSOZDCQ5UQHH3T8Z8HLHQ",
        ),
        (
            "datadog-api-key-assigned",
            "DD_API_KEY=df528ccd1c1100ec39a0646684b97ef5",
        ),
        (
            "okta-api-token-assigned",
            "OKTA_API_TOKEN: 00KF5YhcUXZVoFUFdLGHiPC1HAh1TuvxDzaCw2ublU",
        ),
        (
            "supabase-key",
            "sbp_4be114e3dddaf4a3b69391f6fabbc57f48fda8f7",
        ),
        (
            "planetscale-token",
            "pscale_tkn__HZ94xGA1RwFJXb4cppGVEoDDOLmfrOpTBKuztd8FN5",
        ),
        ("infracost-api-key", "ico-ulgKOeMeKoczMgZgKmQPwpyrqdWSV1IF"),
        (
            "age-secret-key",
            "AGE-SECRET-KEY-1JLZNPYD8ULP4DCTQ5XVNQL6W3NAN0GD46GETJC9RHUK67DJR2VZKMZEANZ",
        ),
        (
            "url-basic-auth",
            "https://deploy:omQ9vQbsI5tVsi@git.corp.internal",
        ),
        (
            "gcp-service-account",
            r#"{"type": "service_account", "project_id": "p", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"}"#,
        ),
        (
            "jwt",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        (
            "private-key-block",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
        ),
        (
            "uri-with-password",
            "mongodb+srv://svc:Xk7Lm9Qp2@cluster0.db.internal/app",
        ),
        ("assigned-high-entropy", "API_KEY=9fK2xL7qM4nP8rS1tV5w"),
    ];

    /// What `rampart guard check` reports: overlapping findings resolved.
    fn checked(t: &str) -> Vec<Finding> {
        crate::Guards::default().check(t, &[Detector::Secrets])
    }

    fn rules(t: &str) -> Vec<&'static str> {
        checked(t).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn every_rule_compiles_and_finds_its_sample() {
        let names: std::collections::BTreeSet<_> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), RULES.len(), "rule names are unique");
        assert_eq!(rule_count(), 95);
        let sampled: std::collections::BTreeSet<_> = SAMPLES.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names, sampled,
            "every rule has a sample, every sample a rule"
        );
        for (name, sample) in SAMPLES {
            let text = format!("Deploy notes: {sample} (rotate after use).");
            assert_eq!(rules(&text), [*name], "{name}: {text}");
            // The secret itself is what is reported, not its label.
            let f = checked(&text);
            let got = text.get(f[0].bytes.0..f[0].bytes.1).unwrap_or("");
            assert!(sample.contains(got), "{name}: {got}");
            assert!(got.len() >= 16, "{name}: {got}");
        }
    }

    #[test]
    fn the_gate_skips_most_rules_and_no_secret() {
        let gated: std::collections::HashSet<_> = GATE.opens.iter().flatten().collect();
        assert!(GATE.literals.is_some());
        assert_eq!(gated.len() + GATE.always.len(), RULES.len());
        assert!(
            gated.len() * 4 > RULES.len() * 3,
            "{} of {} gated",
            gated.len(),
            RULES.len()
        );
        let mut texts: Vec<String> = SAMPLES
            .iter()
            .map(|(_, s)| format!("see {s}, and AKIA then sk- and xox"))
            .collect();
        texts.extend(LOOKALIKES.iter().map(|s| s.to_string()));
        for t in &texts {
            assert_eq!(find(t), ungated_find(t), "{t}");
        }
    }

    /// Values that look like secrets and are not: digests, identifiers, placeholders, words.
    const LOOKALIKES: &[&str] = &[
        "commit 4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 fixes the build",
        "request id 3fa85f64-5717-4562-b3fc-2c963f66afa6 took 35 ms",
        "image: registry.example.org/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "\"integrity\": \"sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==\"",
        "golang.org/x/text v0.14.0 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=",
        "AKIAIOSFODNN7EXAMPLE is the documentation's example key",
        "export OPENAI_API_KEY=sk-your-key-here",
        "https://user:password@example.com/",
        "postgres://postgres:postgres@localhost:5432/app",
        "a key-value store keeps key-0123 and key-abcd",
        "see https://hooks.slack.com/ for webhooks",
        "v1.0-beta of the tool, dp.pt.example",
        "the tracking number 1Z999AA10123456784 is on the label",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "class=\"css-1q2w3e4 sc-AxjAm kBqZYy\"",
        "uid: 0b6f3f2e-4d8b-4a6c-9a2e-7c1d5e3f2a10, resourceVersion: \"482910\"",
        "Mapbox public token pk.eyJ1IjoiYWNtZSIsImEiOiJjbGV4YW1wbGUifQ.abcdefghijklmnopqrstuv",
        "The ratio 12345678:AAbc is not a bot token",
        "pat.attributes.name and pat-na1 are words here",
    ];

    #[test]
    fn lookalikes_are_not_secrets() {
        for t in LOOKALIKES {
            assert!(checked(t).is_empty(), "{t}: {:?}", rules(t));
        }
    }

    #[test]
    fn placeholders_in_provider_formats_are_not_secrets() {
        for t in [
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "dapiXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "gsk_your_groq_key_goes_here_your_groq_key_goes_here_",
            "https://deploy:changeme@git.corp.internal",
            "https://admin:${ADMIN_PASSWORD}@git.corp.internal",
        ] {
            assert!(checked(t).is_empty(), "{t}: {:?}", rules(t));
        }
    }

    #[test]
    fn tokens_that_end_in_a_dash_or_underscore_are_found_whole() {
        // Base64url alphabets end tokens in `-` or `_` as often as in a letter, where a word
        // boundary after the token cannot hold.
        let sg = "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP-";
        let okta = "OKTA_API_TOKEN=00abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM_";
        for (t, len) in [(sg, sg.len()), (okta, 42)] {
            let f = checked(&format!("{t} ok"));
            assert_eq!(f.len(), 1, "{t}");
            assert_eq!(f[0].bytes.1 - f[0].bytes.0, len, "{t}");
        }
    }

    #[test]
    fn images_in_data_uris_are_not_bearer_tokens() {
        // Base64 of zero bytes is a run of `A`s; a PNG's header and pixels hold them after a
        // `/` or a `+`, where a word boundary holds.
        let zeros = "A".repeat(24);
        let t = format!(
            "![x](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAQAAAAEACAYAAAB/{zeros}Bx8fHzMzM2ZmZn9f5mZmczMzPwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+f5mZmQ==)"
        );
        assert!(checked(&t).is_empty(), "{:?}", rules(&t));
    }

    #[test]
    fn discord_bot_tokens_need_a_user_id() {
        let (_, real) = SAMPLES
            .iter()
            .find(|(n, _)| *n == "discord-bot-token")
            .copied()
            .unwrap_or_default();
        assert!(discord_bot(real));
        // The same shape whose first part is not a base64-encoded snowflake.
        assert!(!discord_bot(
            "TWFueSBoYW5kcyBtYWtlIGxp.GHk2aB.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
        ));
        assert!(!discord_bot(
            "NzAbcdefghijklmnopqrstuvwx.GHk2aB.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
        ));
    }

    #[test]
    fn cloud_and_vcs_tokens() {
        assert_eq!(
            kinds("key AKIAQ3EGRQWX7ZYPAB2D here"),
            ["AWS_ACCESS_KEY_ID"]
        );
        assert_eq!(
            kinds("aws_secret_access_key = Q9b2Xk7LmN4pR8sT1vW3yZ6aC0dF5gH2jK9lM1nP"),
            ["AWS_SECRET_ACCESS_KEY"]
        );
        assert_eq!(
            kinds("ghp_R8sT1vW3yZ6aC0dF5gH2jK9lM1nPq4Rs7Tu0"),
            ["GITHUB_TOKEN"]
        );
        assert_eq!(kinds("token: glpat-Ab3dE6gH9jK2mN5pQ8sT"), ["GITLAB_TOKEN"]);
        assert_eq!(
            kinds("hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"),
            ["HUGGINGFACE_TOKEN"]
        );
        assert_eq!(kinds("sk_live_51HqZ2kL9mN4pR8sT1vW3yZ6a"), ["STRIPE_KEY"]);
    }

    #[test]
    fn structured_secrets() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(kinds(jwt), ["JWT"]);
        // Three base64 parts whose head is not a JWT header: not a JWT.
        assert!(
            kinds("eyJub3RhIjoiand0In0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmN").is_empty()
        );
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(kinds(pem), ["PRIVATE_KEY"]);
        assert_eq!(
            kinds("mongodb+srv://svc:Xk7Lm9Qp2@cluster0.example.net/db"),
            ["CONNECTION_STRING"]
        );
        assert!(kinds("postgres://user:changeme@localhost/db").is_empty());
    }

    #[test]
    fn assignments_need_entropy() {
        assert_eq!(kinds("API_KEY=9fK2xL7qM4nP8rS1tV5w"), ["SECRET"]);
        assert!(kinds("password = \"your_password_here\"").is_empty());
        assert!(kinds("token: xxxxxxxxxxxxxxxxxxxx").is_empty());
        assert!(kinds("the secret is that we all like cake").is_empty());
    }
}
