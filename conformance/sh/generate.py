#!/usr/bin/env python3
"""Writes the Shanghai conformance cases in this directory (except the two shared samples,
copied verbatim as ok_sample_*.xml).

Every check character (GB 32100, GB 11643, ISO 7064 MOD 11,10) and every digest is computed
here, so a valid case is valid by construction and a failing case fails for exactly the reason
its name gives. Run from anywhere: `python3 conformance/sh/generate.py`.
"""
import base64
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "urn:sh-ywtb:remote-accept:1.3"

# ---- identifiers -------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(first17):
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return first17 + USCC_ALPHABET[(31 - s % 31) % 31]


ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(first17):
    s = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    return first17 + "10X98765432"[s % 11]


def mod11_10(digits):
    p = 10
    for d in digits:
        s = (p + int(d)) % 10 or 10
        p = (s * 2) % 11
    return str((11 - p) % 10)


def food_licence(first13):
    return "JY" + first13 + mod11_10(first13)


def wrong_last(code, alphabet):
    """The same code with a different, wrong check character."""
    last = code[-1]
    other = next(c for c in alphabet if c != last)
    return code[:-1] + other


# The shared sample's identifiers, and a few more computed here.
APPLICANT_ID = "310116199203041217"
MANAGER_ID = "330482198805173021"
OPERATOR_USCC = "92330482MA2JD0C80D"
OFFICE_USCC = "113101160024321631"
assert resident_id(APPLICANT_ID[:17]) == APPLICANT_ID
assert resident_id(MANAGER_ID[:17]) == MANAGER_ID
assert uscc(OPERATOR_USCC[:17]) == OPERATOR_USCC
assert uscc(OFFICE_USCC[:17]) == OFFICE_USCC
assert food_licence("2330482000001") == "JY23304820000011"


def id_with_x():
    """A resident id whose check character is X (for the lowercase-x case)."""
    for seq in range(1000):
        first17 = "31011819900101" + f"{seq:03d}"
        rid = resident_id(first17)
        if rid.endswith("X"):
            return rid
    raise SystemExit("no X id found")


ID_X = id_with_x()
REG_USCC = uscc("91330402MA2K" + "7Q4N1")  # assigned by a registration

# ---- files -------------------------------------------------------------------------------


def pdf(label, size=0):
    body = f"%PDF-1.4\n% {label}\n1 0 obj<<>>endobj\n".encode()
    body += b"x" * size
    return body + b"trailer<<>>\n%%EOF\n"


def b64(data):
    return base64.b64encode(data).decode()


def digest(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def material(code, title, name, data, *, digest_override=None, content_override=None,
             algorithm='algorithm="SHA-256"'):
    d = digest_override if digest_override is not None else digest(data)
    c = content_override if content_override is not None else b64(data)
    alg = f" {algorithm}" if algorithm else ""
    return f"""    <Material code="{code}">
      <Title>{title}</Title>
      <FileName>{name}</FileName>
      <MimeType>application/pdf</MimeType>
      <Digest{alg}>{d}</Digest>
      <Content>{c}</Content>
    </Material>
"""


APP_PDF = pdf("application form")
LEASE_PDF = pdf("lease")

# ---- documents ---------------------------------------------------------------------------


def food_section(main='<MainFormat code="CY">餐饮服务经营者</MainFormat>', online="false",
                 manager_id=MANAGER_ID, manager_mobile="13905731234", note=""):
    return f"""  <FoodBusiness>
    {main}
{note}    <Items>
      <Item code="C01">热食类食品制售</Item>
      <Item code="C05">自制饮品制售</Item>
    </Items>
    <SafetyManager>
      <Name>张伟</Name>
      <IdNumber>{manager_id}</IdNumber>
      <Mobile>{manager_mobile}</Mobile>
    </SafetyManager>
    <OnlineSales>{online}</OnlineSales>
  </FoodBusiness>
"""


def application(*, decl='<?xml version="1.0" encoding="UTF-8"?>', root="RemoteApply",
                ns_decl=f'xmlns="{NS}"', apply_no="SH-JS-LX-20261120-0101",
                item="SH-SCJG-0701-01", applicant_name="陆佳怡", applicant_id=APPLICANT_ID,
                applicant_id_type="01", applicant_mobile="13812345678",
                operator_name="平湖市广陈镇阿怡面馆", operator_uscc=OPERATOR_USCC,
                entity="GT", capital='<RegisteredCapital currency="CNY">100000.00</RegisteredCapital>',
                residence="上海市金山区廊下镇景乐路228号", division="330482",
                address="浙江省嘉兴市平湖市广陈镇山塘村山塘路18号", area="45.50",
                food=None, scope=None, materials=None, office_uscc=OFFICE_USCC,
                accepted_at="2026-11-20T09:30:00+08:00", target_region="330482",
                target_authority="平湖市市场监督管理局",
                contact="  <Contact>\n    <Name>陆佳怡</Name>\n    <Mobile>13812345678</Mobile>\n  </Contact>\n",
                remark="  <Remark>长三角一网通办 跨省通办专窗受理</Remark>\n", extensions="",
                swap_operator_premises=False):
    uscc_line = f"    <Uscc>{operator_uscc}</Uscc>\n" if operator_uscc else ""
    capital_line = f"    {capital}\n" if capital else ""
    if food is None:
        food = food_section() if item.startswith("SH-SCJG-0701") else ""
    scope_line = f"  <BusinessScope>{scope}</BusinessScope>\n" if scope else ""
    if materials is None:
        materials = (material("01", "申请书", "application.pdf", APP_PDF)
                     + material("03", "经营场所使用证明", "lease.pdf", LEASE_PDF))
    operator = f"""  <Operator>
    <Name>{operator_name}</Name>
{uscc_line}    <EntityType>{entity}</EntityType>
    <LegalRep>
      <Name>{applicant_name}</Name>
      <IdType>{applicant_id_type}</IdType>
      <IdNumber>{applicant_id}</IdNumber>
    </LegalRep>
{capital_line}    <Residence>{residence}</Residence>
  </Operator>
"""
    premises = f"""  <Premises>
    <DivisionCode>{division}</DivisionCode>
    <Address>{address}</Address>
    <Area>{area}</Area>
  </Premises>
"""
    middle = premises + operator if swap_operator_premises else operator + premises
    return f"""{decl}
<{root} {ns_decl}>
  <ApplyNo>{apply_no}</ApplyNo>
  <ItemCode>{item}</ItemCode>
  <Applicant>
    <Name>{applicant_name}</Name>
    <IdType>{applicant_id_type}</IdType>
    <IdNumber>{applicant_id}</IdNumber>
    <Mobile>{applicant_mobile}</Mobile>
  </Applicant>
{middle}{food}{scope_line}  <Materials>
{materials}  </Materials>
  <Acceptance>
    <Office uscc="{office_uscc}">上海市金山区廊下镇社区事务受理服务中心</Office>
    <Clerk>王敏</Clerk>
    <AcceptedAt>{accepted_at}</AcceptedAt>
  </Acceptance>
  <Target region="{target_region}" authority="{target_authority}"/>
{contact}{remark}{extensions}</{root}>
"""


LICENCE_FILE = b"PK sample e-licence (OFD) JY23304820000011\n"


def decision(*, result='<Result code="GRANTED"/>', decided_at="2026-11-27T14:05:00+08:00",
             licence=None, opinion="经审查，申请材料齐全、符合法定形式，准予许可。",
             apply_no="SH-JS-LX-20261120-0101"):
    if licence is None:
        licence = licence_section()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<RemoteDecision xmlns="{NS}">
  <ApplyNo>{apply_no}</ApplyNo>
  {result}
  <Opinion>{opinion}</Opinion>
  <Officer>沈建国</Officer>
  <DecidedAt>{decided_at}</DecidedAt>
{licence}</RemoteDecision>
"""


def licence_section(number="JY23304820000011", name="食品经营许可证", valid_from="2026-11-27",
                    valid_to="2031-11-26", uscc_line="", data=LICENCE_FILE, digest_attr=""):
    return f"""  <License>
    <LicenseNo>{number}</LicenseNo>
    <LicenseName>{name}</LicenseName>
    <ValidFrom>{valid_from}</ValidFrom>
    <ValidTo>{valid_to}</ValidTo>
    <IssuedBy>平湖市市场监督管理局</IssuedBy>
    <IssuedOn>2026-11-27</IssuedOn>
{uscc_line}    <File>
      <FileName>{number}.ofd</FileName>
      <MimeType>application/ofd</MimeType>
      <Digest{digest_attr}>{digest(data)}</Digest>
      <Content>{b64(data)}</Content>
    </File>
  </License>
"""


def registration(**kw):
    args = dict(
        item="SH-SCJG-0101-LLC", operator_uscc=None, entity="LLC",
        operator_name="嘉兴市南湖区禾味餐饮管理有限公司",
        capital='<RegisteredCapital currency="CNY">500000.00</RegisteredCapital>',
        division="330402", address="浙江省嘉兴市南湖区东栅街道南溪路66号",
        target_region="330402", target_authority="嘉兴市南湖区市场监督管理局",
        scope="餐饮管理；餐饮服务；食品销售（仅销售预包装食品）", food="",
        materials=material("01", "申请书", "application.pdf", APP_PDF)
        + material("02", "身份证明", "id.pdf", pdf("identity")),
    )
    args.update(kw)
    return application(**args)


# ---- cases -------------------------------------------------------------------------------

cases = {}   # file name -> (bytes, expect text or None)


def case(name, text, expect=None, encoding="utf-8"):
    data = text.encode(encoding) if isinstance(text, str) else text
    cases[name] = (data, expect)


# ok: variations of the documented conventions. Each must also survive a round trip through
# Zhejiang's format, so nothing here uses what Zhejiang cannot carry (the text of <Result>).
case("ok_default_namespace.xml", application())
prefixed = application(root="sh:RemoteApply", ns_decl=f'xmlns:sh="{NS}"')
import re  # noqa: E402
prefixed = re.sub(r"<(/?)(?!sh:|\?)([A-Za-z]+)", r"<\1sh:\2", prefixed)
case("ok_any_prefix.xml", prefixed)
case("ok_gb18030_four_byte_rare_character.xml",
     application(decl='<?xml version="1.0" encoding="GB18030"?>', applicant_name="吉\U00020BB7怡",
                 operator_name="平湖市广陈镇\U00020BB7记面馆"),
     encoding="gb18030")
case("ok_utf8_byte_order_mark.xml", "\ufeff" + application())
case("ok_cdata_sections.xml",
     application(operator_name="<![CDATA[平湖市广陈镇阿怡面馆 & <分店>]]>",
                 address="浙江省嘉兴市<![CDATA[平湖市广陈镇]]>山塘村山塘路18号"))
case("ok_escaped_ampersand_and_less_than_in_names.xml",
     application(operator_name="阿怡&amp;阿伟面馆 &lt;山塘店&gt;",
                 residence="上海市金山区廊下镇景乐路228号&#x20;B&amp;C座"))
case("ok_time_in_utc_z.xml", application(accepted_at="2026-11-20T01:30:00Z"))
case("ok_time_at_plus_0900.xml", application(accepted_at="2026-11-20T10:30:00+09:00"))
case("ok_time_with_zero_fraction.xml", application(accepted_at="2026-11-20T09:30:00.000+08:00"))
# The widest offset XML Schema's dateTime (and so schemas/shanghai.xsd) allows; the reader
# takes up to 18 hours, the ledger's bound.
case("ok_time_at_minus_1400.xml", application(accepted_at="2026-11-19T11:30:00-14:00"))
case("ok_mobile_with_country_code_spaces_and_dashes.xml",
     application(applicant_mobile="+86 138-1234-5678"))
case("ok_lowercase_x_in_identity_number.xml",
     application(applicant_id=ID_X.lower(), applicant_name="陈晓"))
case("ok_passport_applicant.xml", application(applicant_id_type="03", applicant_id="E12345678"))
case("ok_registration_llc_with_business_scope.xml", registration())
case("ok_registration_individual_business.xml",
     registration(item="SH-SCJG-0101-GT", entity="GT", capital="",
                  operator_name="嘉兴市南湖区阿怡小吃店", scope="小吃服务"))
case("ok_extensions_fields.xml",
     application(extensions='  <Extensions>\n'
                 '    <Field name="~zj:jyz.lxdh">0573-85551234</Field>\n'
                 '    <Field name="ywlx">跨省通办</Field>\n'
                 '    <Field name="empty"></Field>\n'
                 '  </Extensions>\n'))
big = pdf("large floor plan", 3000)
wrapped = "\n".join(b64(big)[i:i + 76] for i in range(0, len(b64(big)), 76))
case("ok_line_wrapped_base64_content.xml",
     application(materials=material("04", "平面布局图", "plan.pdf", big,
                                    content_override="\n" + wrapped + "\n      ")))
case("ok_food_note_and_online_sales.xml",
     application(food=food_section(online="true", note="    <FormatNote>中央厨房</FormatNote>\n")))
case("ok_main_format_name_disagrees_with_code.xml",
     application(food=food_section(main='<MainFormat code="CY">食品销售经营者</MainFormat>')),
     "/RemoteApply/FoodBusiness/MainFormat: [code.name-mismatch] the code is used\n")
case("ok_optional_sections_absent.xml", application(contact="", remark="", capital=""))
case("ok_comments_and_processing_instructions.xml",
     application().replace("<ApplyNo>", "<!-- 受理系统导出 --><?audit id=7?><ApplyNo>"))

case("ok_decision_granted_food_licence.xml", decision())
case("ok_decision_refused.xml",
     decision(result='<Result code="REFUSED"/>', licence="",
              opinion="经营场所与食品安全要求不符，不予许可。"))
case("ok_decision_correction.xml",
     decision(result='<Result code="CORRECTION"/>', licence="",
              opinion="材料不全，请于五个工作日内补正。"))
case("ok_decision_time_at_plus_0900.xml", decision(decided_at="2026-11-27T15:05:00+09:00"))
case("ok_decision_time_in_utc_z.xml", decision(decided_at="2026-11-27T06:05:00Z"))
case("ok_decision_business_licence_with_uscc.xml",
     decision(licence=licence_section(number=REG_USCC, name="营业执照", valid_to="2046-11-26",
                                      uscc_line=f"    <Uscc>{REG_USCC}</Uscc>\n",
                                      data=b"business licence OFD\n",
                                      digest_attr=' algorithm="SHA-256"')))
bad_check = "JY2330482000001" + str((int(mod11_10("2330482000001")) + 1) % 10)
case("ok_decision_food_licence_check_digit_mismatch_warns.xml",
     decision(licence=licence_section(number=bad_check)),
     "/RemoteDecision/License/LicenseNo: [licence-no.check] ISO 7064 MOD 11,10\n")

# fail: one reason each, named
case("fail_doctype_billion_laughs.xml",
     '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE RemoteApply [\n'
     ' <!ENTITY lol "lol">\n <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
     ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
     + application().split("\n", 1)[1].replace("陆佳怡</Name>\n    <IdType>", "&lol3;</Name>\n    <IdType>", 1),
     "/: [xml.doctype] DOCTYPE is refused\n")
case("fail_doctype_external_entity.xml",
     application().replace('<?xml version="1.0" encoding="UTF-8"?>',
                           '<?xml version="1.0" encoding="UTF-8"?>\n'
                           '<!DOCTYPE RemoteApply SYSTEM "file:///etc/passwd">'),
     "/: [xml.doctype] DOCTYPE is refused\n")
case("fail_undeclared_entity.xml", application(operator_name="阿怡&nbsp;面馆"),
     "/RemoteApply/Operator/Name: [xml.bad-character-data] predefined entities\n")
case("fail_uscc_check_character.xml",
     application(operator_uscc=wrong_last(OPERATOR_USCC, USCC_ALPHABET)),
     "/RemoteApply/Operator/Uscc: [uscc.check] check character\n")
case("fail_office_uscc_check_character.xml",
     application(office_uscc=wrong_last(OFFICE_USCC, USCC_ALPHABET)),
     "/RemoteApply/Acceptance/Office/@uscc: [uscc.check] check character\n")
case("fail_identity_check_digit.xml",
     application(applicant_id=wrong_last(APPLICANT_ID, "0123456789X")),
     "/RemoteApply/Applicant/IdNumber: [resident-id.check] check digit\n"
     "/RemoteApply/Operator/LegalRep/IdNumber: [resident-id.check] check digit\n")
case("fail_full_width_digits_in_mobile.xml", application(applicant_mobile="１３８１２３４５６７８"),
     "/RemoteApply/Applicant/Mobile: [id.full-width] full-width\n")
case("fail_unknown_division.xml", application(division="330499"),
     "/RemoteApply/Premises/DivisionCode: [division.unknown] not a known GB/T 2260\n")
case("fail_former_division_320584.xml",
     application(division="320584", address="江苏省苏州市吴江区松陵镇中山路1号",
                 target_region="320509", target_authority="苏州市吴江区市场监督管理局"),
     "/RemoteApply/Premises/DivisionCode: [division.former] 320509\n")
case("fail_food_item_without_food_business.xml", application(food=""),
     "/RemoteApply/FoodBusiness: [rule.required-for-item] required for 食品经营许可（新办）\n")
case("fail_food_item_without_uscc.xml", application(operator_uscc=None),
     "/RemoteApply/Operator/Uscc: [rule.uscc-required] required\n")
case("fail_registration_with_uscc.xml", registration(operator_uscc=REG_USCC),
     "/RemoteApply/Operator/Uscc: [rule.uscc-absent] must be absent\n")
case("fail_registration_without_business_scope.xml", registration(scope=None),
     "/RemoteApply/BusinessScope: [rule.required-for-item] required\n")
case("fail_registration_entity_type_does_not_fit.xml",
     registration(item="SH-SCJG-0101-GT", entity="JSC"),
     "/RemoteApply/Operator/EntityType: [rule.entity-not-for-item] cannot be registered\n")
case("fail_target_without_jurisdiction.xml",
     application(target_region="310116", target_authority="上海市金山区市场监督管理局"),
     "/RemoteApply/Target/@region: [rule.no-jurisdiction] no jurisdiction\n")
case("fail_digest_mismatch.xml",
     application(materials=material("01", "申请书", "application.pdf", APP_PDF)
                 + material("03", "经营场所使用证明", "lease.pdf", LEASE_PDF,
                            digest_override=digest(APP_PDF))),
     "/RemoteApply/Materials/Material[2]/Digest: [digest.mismatch] does not match the content\n")
case("fail_bad_base64_content.xml",
     application(materials=material("01", "申请书", "application.pdf", APP_PDF,
                                    content_override="JVBERi0x!!!bad" + b64(APP_PDF)[14:])),
     "/RemoteApply/Materials/Material[1]/Content: [base64.invalid] not valid base64\n")
case("fail_hex_digest.xml",
     application(materials=material("01", "申请书", "application.pdf", APP_PDF,
                                    digest_override=hashlib.sha256(APP_PDF).hexdigest())),
     "/RemoteApply/Materials/Material[1]/Digest: [digest.looks-hex] base64\n")
case("fail_digest_algorithm_md5.xml",
     application(materials=material("01", "申请书", "application.pdf", APP_PDF,
                                    algorithm='algorithm="MD5"')),
     "/RemoteApply/Materials/Material[1]/Digest/@algorithm: [digest.algorithm] only SHA-256\n")
case("fail_money_with_three_decimals.xml",
     application(capital='<RegisteredCapital currency="CNY">100000.005</RegisteredCapital>'),
     "/RemoteApply/Operator/RegisteredCapital: [decimal.two-too-fine] 3 fraction digits\n")
case("fail_money_in_another_currency.xml",
     application(capital='<RegisteredCapital currency="USD">100000.00</RegisteredCapital>'),
     "/RemoteApply/Operator/RegisteredCapital/@currency: [currency.not-cny] not accepted\n")
case("fail_time_without_offset.xml", application(accepted_at="2026-11-20T09:30:00"),
     "/RemoteApply/Acceptance/AcceptedAt: [time.no-offset] no offset\n")
# The ledger cannot record a time with an offset beyond 18 hours; such an application was
# accepted by the reader and then failed the committer's whole batch (retry-later, forever).
case("fail_time_offset_beyond_18_hours.xml", application(accepted_at="2026-11-20T09:30:00+18:30"),
     "/RemoteApply/Acceptance/AcceptedAt: [time.offset-too-wide] beyond 18 hours\n")
case("fail_time_with_fractional_seconds.xml",
     application(accepted_at="2026-11-20T09:30:00.250+08:00"),
     "/RemoteApply/Acceptance/AcceptedAt: [time.fraction] fractional seconds\n")
case("fail_unknown_item_code.xml", application(item="SH-SCJG-0701-09"),
     "/RemoteApply/ItemCode: [code.unknown] unknown item code\n")
case("fail_zhejiang_item_code.xml", application(item="330000-SCJG-SPJY-001"),
     "/RemoteApply/ItemCode: [code.zj-spelling] Zhejiang's\n")
# Found by the fuzzing harness (tests/all/fuzz.rs): Shanghai accepted an item listed twice,
# which Zhejiang's jyxm refuses, so the translation was refused.
case("fail_food_item_listed_twice.xml",
     application(food=food_section().replace('      <Item code="C05">自制饮品制售</Item>\n',
                                             '      <Item code="C05">自制饮品制售</Item>\n' * 2)),
     "/RemoteApply/FoodBusiness/Items/Item[3]/@code: [code.listed-twice] 'C05' is listed twice\n")
case("fail_boolean_as_digit.xml", application(food=food_section(online="0")),
     "/RemoteApply/FoodBusiness/OnlineSales: [boolean.sh] true or false\n")
case("fail_wrong_namespace.xml", application(ns_decl='xmlns="urn:sh-ywtb:remote-accept:1.2"'),
     "/RemoteApply: [xml.namespace] namespace 'urn:sh-ywtb:remote-accept:1.2'\n")
case("fail_no_namespace.xml", application(ns_decl='version="1.3"'),
     "/RemoteApply: [xml.namespace] no namespace\n"
     "/RemoteApply/@version: [xml.unknown-attribute] unknown attribute\n")
case("fail_foreign_element.xml",
     application().replace("  <Contact>", '  <x:Note xmlns:x="urn:example">hi</x:Note>\n  <Contact>'),
     "/RemoteApply/Note: [xml.namespace] namespace 'urn:example'\n"
     "/RemoteApply/Note: [xml.unknown-element] unknown element\n")
case("fail_out_of_order_elements.xml", application(swap_operator_premises=True),
     "/RemoteApply/Operator: [xml.out-of-order] out of order\n")
case("fail_missing_required_element.xml",
     application().replace("    <Mobile>13812345678</Mobile>\n  </Applicant>", "  </Applicant>"),
     "/RemoteApply/Applicant/Mobile: [xml.missing-element] missing required element\n")
case("fail_duplicated_element.xml",
     application().replace("  <ItemCode>", "  <ApplyNo>SH-JS-LX-20261120-0102</ApplyNo>\n  <ItemCode>"),
     "/RemoteApply/ApplyNo[2]: [xml.repeated] more than once\n")
case("fail_unknown_element.xml",
     application().replace("  <Remark>", "  <Priority>high</Priority>\n  <Remark>"),
     "/RemoteApply/Priority: [xml.unknown-element] unknown element\n")
case("fail_unknown_encoding.xml",
     application(decl='<?xml version="1.0" encoding="ISO-8859-1"?>').replace("陆佳怡", "Lu Jiayi"),
     "/: [xml.encoding] encoding 'ISO-8859-1' is not accepted\n")
case("fail_gb18030_bytes_declared_utf8.xml",
     application(applicant_name="吉\U00020BB7怡").encode("gb18030"),
     "/: [xml.bad-utf8] not valid UTF-8\n")
case("fail_granted_without_license.xml", decision(licence=""),
     "/RemoteDecision/License: [rule.licence-required] required when the licence is granted\n")
case("fail_refused_with_license.xml", decision(result='<Result code="REFUSED"/>'),
     "/RemoteDecision/License: [rule.licence-absent] must be absent\n")
case("fail_unknown_result_code.xml", decision(result='<Result code="APPROVED"/>', licence=""),
     "/RemoteDecision/Result/@code: [result.sh] not one of GRANTED, REFUSED, CORRECTION\n")
case("fail_validity_ends_before_it_starts.xml",
     decision(licence=licence_section(valid_to="2026-11-26")),
     "/RemoteDecision/License/ValidTo: [rule.validity-reversed] before it starts\n")
case("fail_licence_file_digest_mismatch.xml",
     decision(licence=licence_section().replace(digest(LICENCE_FILE), digest(b"other"))),
     "/RemoteDecision/License/File/Digest: [digest.mismatch] does not match the content\n")
case("fail_several_problems.xml",
     application(applicant_id=wrong_last(APPLICANT_ID, "0123456789X"),
                 operator_uscc=wrong_last(OPERATOR_USCC, USCC_ALPHABET),
                 applicant_mobile="138-1234-567",
                 area="45.5", accepted_at="2026-11-20 09:30:00",
                 target_region="310116",
                 materials=material("01", "申请书", "application.pdf", APP_PDF)
                 + material("03", "经营场所使用证明", "lease.pdf", LEASE_PDF,
                            digest_override=digest(APP_PDF)),
                 food=food_section(main='<MainFormat code="XX">餐饮服务经营者</MainFormat>')),
     "/RemoteApply/Applicant/IdNumber: [resident-id.check] check digit\n"
     "/RemoteApply/Applicant/Mobile: [mobile.shape] 11 digits\n"
     "/RemoteApply/Operator/Uscc: [uscc.check] check character\n"
     "/RemoteApply/Operator/LegalRep/IdNumber: [resident-id.check] check digit\n"
     "/RemoteApply/Premises/Area: [decimal.two-shape] exactly 2 fraction digits\n"
     "/RemoteApply/FoodBusiness/MainFormat/@code: [code.unknown] unknown main business format\n"
     "/RemoteApply/Materials/Material[2]/Digest: [digest.mismatch] does not match the content\n"
     "/RemoteApply/Acceptance/AcceptedAt: [time.sh-shape] not a time\n"
     "/RemoteApply/Target/@region: [rule.no-jurisdiction] no jurisdiction\n")

if __name__ == "__main__":
    for name, (data, expect) in sorted(cases.items()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        stem = os.path.join(HERE, name.rsplit(".", 1)[0] + ".expect")
        if expect:
            with open(stem, "w", encoding="utf-8") as f:
                f.write(expect)
        elif os.path.exists(stem):
            os.remove(stem)
    print(f"{len(cases)} cases written")
