"""Made-up national identifiers that pass their issuers' checks, for bench/guard.py's
national-id set and the samples of crates/rampart-guard/src/national_ids.rs: for each
format, `IDS[type] = (words written before it, generator)`, and `invalid(type)`, the same
format with a broken check. The check algorithms here are written from the issuers'
definitions, apart from the Rust ones, so the two check each other."""
import random
import string

R = random.Random(17)


def dig(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def date(y0=1940, y1=2015):
    while True:
        y, m, d = R.randint(y0, y1), R.randint(1, 12), R.randint(1, 28)
        return y, m, d


# Verhoeff (Aadhaar).
VD = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],
      [5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]]
VP = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
      [9,4,5,3,1,2,7,6,8,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]
VINV = [0,4,3,2,1,5,6,7,8,9]


def verhoeff_digit(num):
    c = 0
    for i, x in enumerate(reversed(num)):
        c = VD[c][VP[(i + 1) % 8][int(x)]]
    return str(VINV[c])


def aadhaar():
    n = str(R.randint(2, 9)) + dig(10)
    n += verhoeff_digit(n)
    return f"{n[:4]} {n[4:8]} {n[8:]}"


def pan():
    return "".join(R.choice(string.ascii_uppercase) for _ in range(3)) + R.choice("ABCFGHLJPT") + R.choice(string.ascii_uppercase) + dig(4) + R.choice(string.ascii_uppercase)


CF_ODD = {c: v for c, v in zip("0123456789", [1,0,5,7,9,13,15,17,19,21])}
CF_ODD.update({c: v for c, v in zip(string.ascii_uppercase, [1,0,5,7,9,13,15,17,19,21,2,4,18,20,11,3,6,8,12,14,16,10,22,25,24,23])})


def cf_check(s15):
    tot = 0
    for i, c in enumerate(s15):
        if i % 2 == 0:
            tot += CF_ODD[c]
        else:
            tot += int(c) if c.isdigit() else ord(c) - 65
    return chr(65 + tot % 26)


def codice_fiscale():
    y, m, d = date()
    L = string.ascii_uppercase
    s = "".join(R.choice(L) for _ in range(6)) + f"{y % 100:02d}" + "ABCDEHLMPRST"[m - 1] + f"{d + R.choice([0, 40]):02d}" + R.choice(L) + dig(3)
    return s + cf_check(s)


def pesel():
    y, m, d = date(1950, 2020)
    mm = m + (20 if y >= 2000 else 0)
    s = f"{y % 100:02d}{mm:02d}{d:02d}" + dig(4)
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    return s + str((10 - sum(int(a) * b for a, b in zip(s, w)) % 10) % 10)


def bsn():
    while True:
        s = str(R.randint(1, 9)) + dig(7)
        t = sum(int(a) * b for a, b in zip(s, range(9, 1, -1)))
        last = t % 11
        if last < 10:
            return s + str(last)


def cpf():
    s = dig(9)
    for n in (10, 11):
        t = sum(int(a) * b for a, b in zip(s, range(n, 1, -1)))
        s += str(t * 10 % 11 % 10)
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def nir():
    y, m, d = date()
    body = str(R.choice([1, 2])) + f"{y % 100:02d}{m:02d}" + f"{R.randint(1, 95):02d}" + dig(3) + dig(3)
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def steuer_id():
    while True:
        ds = R.sample(range(10), 9)
        if ds[0] == 0:
            continue
        rep = R.choice(ds)
        ds.insert(R.randint(1, 9), rep)
        s = "".join(map(str, ds))
        product = 10
        for x in s:
            t = (int(x) + product) % 10
            t = t or 10
            product = t * 2 % 11
        return s + str((11 - product) % 10)


def luhn_digit(s):
    tot = 0
    for i, x in enumerate(reversed(s)):
        v = int(x)
        if i % 2 == 0:
            v *= 2
            v = v - 9 if v > 9 else v
        tot += v
    return str((10 - tot % 10) % 10)


def sin():
    s = str(R.choice([1, 2, 3, 4, 5, 6, 7, 9])) + dig(7)
    s += luhn_digit(s)
    return f"{s[:3]} {s[3:6]} {s[6:]}"


def nric():
    p = R.choice("STFG")
    s = dig(7)
    t = sum(int(a) * b for a, b in zip(s, [2, 7, 6, 5, 4, 3, 2])) + (4 if p in "TG" else 0)
    return p + s + ("JZIHGFEDCBA" if p in "ST" else "XWUTRQPNMLK")[t % 11]


def rrn():
    y, m, d = date(1950, 2015)
    g = R.choice([1, 2]) if y < 2000 else R.choice([3, 4])
    return f"{y % 100:02d}{m:02d}{d:02d}-{g}{dig(6)}"


def cn_id():
    y, m, d = date()
    s = dig(6) + f"{y:04d}{m:02d}{d:02d}" + dig(3)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return s + "10X98765432"[sum(int(a) * b for a, b in zip(s, w)) % 11]


def personnummer():
    y, m, d = date()
    s = f"{y % 100:02d}{m:02d}{d:02d}" + dig(3)
    s += luhn_digit(s)
    return s[:6] + "-" + s[6:]


def hetu():
    y, m, d = date(1940, 2020)
    sign = "-" if y < 2000 else "A"
    n = dig(3)
    body = f"{d:02d}{m:02d}{y % 100:02d}"
    return body + sign + n + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(body + n) % 31]


def be_nrn():
    y, m, d = date(1940, 2020)
    s = f"{y % 100:02d}{m:02d}{d:02d}" + dig(3)
    key = 97 - int(("2" if y >= 2000 else "") + s) % 97
    return f"{s[:2]}.{s[2:4]}.{s[4:6]}-{s[6:9]}.{key:02d}"


def itin():
    g = R.choice(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    return f"9{dig(2)}-{g:02d}-{dig(4)}"


def nhs():
    while True:
        s = str(R.randint(4, 6)) + dig(8)
        c = 11 - sum(int(a) * b for a, b in zip(s, range(10, 1, -1))) % 11
        c = 0 if c == 11 else c
        if c != 10:
            s += str(c)
            return f"{s[:3]} {s[3:6]} {s[6:]}"


CURP_ALPHA = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"


def curp():
    y, m, d = date(1950, 1999)
    L = string.ascii_uppercase
    cons = "BCDFGHJKLMNPQRSTVWXYZ"
    s = R.choice(L) + R.choice("AEIOU") + R.choice(L) + R.choice(L) + f"{y % 100:02d}{m:02d}{d:02d}" + R.choice("HM") + R.choice(["DF", "JC", "NL", "MC", "GT"]) + "".join(R.choice(cons) for _ in range(3)) + "0"
    tot = sum(CURP_ALPHA.index(c) * (18 - i) for i, c in enumerate(s))
    return s + str((10 - tot % 10) % 10)


def tc_kimlik():
    d = [R.randint(1, 9)] + [R.randint(0, 9) for _ in range(8)]
    d.append(((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10)
    d.append(sum(d) % 10)
    return "".join(map(str, d))


def za_id():
    y, m, d = date(1940, 2015)
    s = f"{y % 100:02d}{m:02d}{d:02d}" + dig(4) + str(R.choice([0, 1])) + "8"
    return s + luhn_digit(s)


def tfn():
    w = [1, 4, 3, 7, 5, 8, 6, 9, 10]
    while True:
        s = dig(9)
        if sum(int(a) * b for a, b in zip(s, w)) % 11 == 0:
            return f"{s[:3]} {s[3:6]} {s[6:]}"


def medicare():
    s = str(R.randint(2, 6)) + dig(7)
    s += str(sum(int(a) * b for a, b in zip(s, [1, 3, 7, 9, 1, 3, 7, 9])) % 10) + str(R.randint(1, 9))
    return f"{s[:4]} {s[4:9]} {s[9]}"


# type -> (words before it, generator)
IDS = {
    "IN_AADHAAR": ("Aadhaar ", aadhaar),
    "IN_PAN": ("PAN ", pan),
    "IT_FISCAL_CODE": ("codice fiscale ", codice_fiscale),
    "PL_PESEL": ("PESEL: ", pesel),
    "NL_BSN": ("BSN ", bsn),
    "BR_CPF": ("CPF ", cpf),
    "FR_NIR": ("n° de sécurité sociale ", nir),
    "DE_TAX_ID": ("Steuer-ID ", steuer_id),
    "CA_SIN": ("SIN ", sin),
    "SG_NRIC": ("NRIC ", nric),
    "KR_RRN": ("RRN ", rrn),
    "CN_RESIDENT_ID": ("身份证号 ", cn_id),
    "SE_PERSONNUMMER": ("personnummer ", personnummer),
    "FI_HETU": ("henkilötunnus ", hetu),
    "BE_NATIONAL_NUMBER": ("rijksregisternummer ", be_nrn),
    "US_ITIN": ("ITIN ", itin),
    "UK_NHS": ("NHS number ", nhs),
    "MX_CURP": ("CURP ", curp),
    "TR_NATIONAL_ID": ("TC Kimlik No: ", tc_kimlik),
    "ZA_ID": ("ID number ", za_id),
    "AU_TFN": ("TFN ", tfn),
    "AU_MEDICARE": ("Medicare ", medicare),
}


def invalid(kind):
    """The same format with its check broken (the last digit or letter changed)."""
    _, gen = IDS[kind]
    v = gen()
    last = v[-1]
    pool = string.digits if last.isdigit() else string.ascii_uppercase
    return v[:-1] + R.choice([c for c in pool if c != last])


if __name__ == "__main__":
    import json
    for k, (ctx, g) in IDS.items():
        print(json.dumps([k, ctx + g(), invalid(k)], ensure_ascii=False))
