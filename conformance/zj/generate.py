#!/usr/bin/env python3
"""Writes the Zhejiang conformance cases in this directory from the shared sample and the
interface document's conventions. Every check character (GB 32100, GB 11643, ISO 7064
MOD 11,10) and digest is computed, so a valid case is valid by construction and a failing case
fails for exactly the reason its name gives. Run: `python3 conformance/zj/generate.py`.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from casegen import *  # noqa: E402,F403

D = os.path.dirname(os.path.abspath(__file__))
# an id number whose check character is X
xid = next(r for r in (rid(f'31011619900101{n:03d}') for n in range(1000)) if r.endswith('X'))

# ---- ok cases
a=zj_app(); a['ywlx']='跨省通办'; a['jyz']['xydj']={'level':'A','score':3}; a['cl'][1]['ys']=12; a['sqr']['bz2']=None
dump(f'{D}/ok_unknown_fields_tolerated.json', a)
a=zj_app(); a['kzxx']={'ckbh':'JS-2026-118','来源':'金山区廊下镇'}
dump(f'{D}/ok_extension_area.json', a)
a=zj_app(); a['jyz']['zczb']='123.456789'
dump(f'{D}/ok_amount_with_six_decimals.json', a)
a=zj_app(); a['jyz']['zczb']='0.000001'
dump(f'{D}/ok_amount_of_one_fen.json', a)
a=zj_app(); a['sqr']['zjhm']=xid.lower(); a['jyz']['fddbr']['zjhm']=xid.lower()
dump(f'{D}/ok_lowercase_x_in_id_number.json', a)
a=zj_app(); a['jyz']['mc']='平湖市广陈镇𠮷祥&<小吃>"店"'; a['sqr']['xm']='𡃁子怡'; a['jyz']['fddbr']['xm']='𡃁子怡'
a['jycs']['xxdz']='浙江省嘉兴市平湖市广陈镇山塘村山塘路18号 <东侧> & 后门'; a['bz']='备注\t含制表符\n及换行'
dump(f'{D}/ok_rare_characters_and_markup_in_names.json', a)
a=zj_app(); a['spjy']={'ztyt':'1','ztytbz':'中央厨房','jyxm':['预包装食品销售（含冷藏冷冻食品）','散装食品销售（不含冷藏冷冻食品）','特殊食品销售'],'spaqgly':a['spjy']['spaqgly'],'wlxs':'1'}
dump(f'{D}/ok_food_sales_online_with_note.json', a)
a=zj_app(); del a['lxr']; del a['bz']; del a['jyz']['zczb']
dump(f'{D}/ok_optional_fields_absent.json', a)
a=zj_app(); a['sqr'].update({'zjlx':'414','zjhm':'E12345678'}); a['jyz']['fddbr'].update({'zjlx':'516','zjhm':'H1234567801'})
dump(f'{D}/ok_passport_and_permit_holders.json', a)
a=zj_app(); a['sqbh']='ZJ-PH-GC-20261121-0031'; a['sxbm']='330000-SCJG-DJ-201'; del a['spjy']; del a['jyz']['tyshxydm']
a['jyz'].update({'mc':'平湖市广陈镇阿怡餐饮管理有限公司','ztlx':'有限责任公司','zczb':'50'}); a['jyfw']='餐饮管理；食品销售（仅销售预包装食品）；外卖递送服务'
dump(f'{D}/ok_registration_llc.json', a)
a=zj_app(); a['sxbm']='330000-SCJG-DJ-101'; del a['spjy']; del a['jyz']['tyshxydm']; del a['jyz']['zczb']; a['jyfw']='小吃服务'
dump(f'{D}/ok_registration_individual_business.json', a)
d=zj_dec(); d.update({'jg':'2','yj':'经营场所与住宅相连，不符合要求，不予许可。'}); del d['zz']
dump(f'{D}/ok_decision_refused.json', d)
d=zj_dec(); d.update({'jg':'3','yj':'请补正经营场所使用证明。'}); del d['zz']; d['kzxx']={'~sh:Result':'补正'}
dump(f'{D}/ok_decision_correction_with_result_note.json', d)
d=zj_dec(); sha,nr=file_of(b'OFD business licence sample'); d['zz']={'zzbh':'91330482MA2B3C4D5Y','zzmc':'营业执照','yxqq':'2026-11-27','yxqz':'2076-11-26','fzjg':'平湖市市场监督管理局','fzrq':'2026-11-27','tyshxydm':uscc('91330482MA2B3C4D5'),'dzzz':{'wjm':'yyzz.ofd','wjlx':'application/ofd','sha256':sha,'nr':nr}}
dump(f'{D}/ok_decision_business_licence.json', d)
d=zj_dec(); d['zz']['zzbh']='JY23304820000012'
dump(f'{D}/ok_decision_licence_check_digit_mismatch_warns.json', d, 'zz.zzbh: [licence-no.check] ISO 7064 MOD 11,10 gives 1')

# ---- fail cases
def fail(name, mutate, expect, base=zj_app):
    a=base(); mutate(a); dump(f'{D}/fail_{name}.json', a, expect)
fail('uscc_check_character', lambda a: a['jyz'].update(tyshxydm='92330482MA2JD0C80E'), "jyz.tyshxydm: [uscc.check] expected 'D'")
fail('uscc_forbidden_letter', lambda a: a['jyz'].update(tyshxydm='92330482MA2JO0C80D'), "jyz.tyshxydm: [uscc.char] is not allowed")
fail('id_check_digit', lambda a: a['sqr'].update(zjhm='310116199203041218'), "sqr.zjhm: [resident-id.check] expected '7'")
fail('full_width_digits_in_id', lambda a: a['jyz']['fddbr'].update(zjhm='３１0116199203041217'), "jyz.fddbr.zjhm: [id.full-width] full-width")
fail('unknown_division', lambda a: a['jycs'].update(xzqh='330499'), "jycs.xzqh: [division.unknown] not a known GB/T 2260")
fail('former_division_code', lambda a: a.update(mbqy='320584'), "mbqy: [division.former] since 2012-09 it is 320509")
fail('food_item_without_food_section', lambda a: a.pop('spjy'), "spjy: [rule.required-for-item] required for 食品经营许可（新办）")
fail('food_item_without_uscc', lambda a: a['jyz'].pop('tyshxydm'), "jyz.tyshxydm: [rule.uscc-required] required")
def reg_with_uscc(a): a['sxbm']='330000-SCJG-DJ-101'; a.pop('spjy'); a['jyfw']='小吃服务'
fail('registration_with_uscc', reg_with_uscc, "jyz.tyshxydm: [rule.uscc-absent] must be absent")
def reg_wrong_entity(a): a['sxbm']='330000-SCJG-DJ-201'; a.pop('spjy'); a['jyz'].pop('tyshxydm'); a['jyfw']='餐饮管理'
fail('llc_registration_of_individual_business', reg_wrong_entity, "jyz.ztlx: [rule.entity-not-for-item] cannot be registered")
fail('digest_mismatch', lambda a: a['cl'][1].update(sha256=a['cl'][0]['sha256']), "cl[1].sha256: [digest.mismatch] does not match the content")
fail('digest_not_hex', lambda a: a['cl'][0].update(sha256='621cTUT1Eay5/CxQvzbNS0cqxav8rEqsVEQZR9XOo4Q='), "cl[0].sha256: [digest.hex] 64 hexadecimal digits")
fail('content_not_base64', lambda a: a['cl'][0].update(nr='JVBERi0x*LjQK'), "cl[0].nr: [base64.padding] base64")
fail('amount_with_seven_decimals', lambda a: a['jyz'].update(zczb='10.0000001'), "jyz.zczb: [decimal.too-fine] at most 6")
fail('amount_negative', lambda a: a['jyz'].update(zczb='-10'), "jyz.zczb: [decimal.shape] not a decimal number")
fail('amount_as_number', lambda a: a['jyz'].update(zczb=10), "jyz.zczb: [field.wrong-type] must be a string, got a number")
fail('time_with_offset', lambda a: a['slxx'].update(slsj='2026-11-20T09:30:00+08:00'), "slxx.slsj: [time.zj-shape] yyyy-MM-dd HH:mm:ss")
fail('boolean_spelled_true', lambda a: a['spjy'].update(wlxs='true'), 'spjy.wlxs: [boolean.zj] must be "1" or "0"')
fail('unknown_item_code', lambda a: a.update(sxbm='SH-SCJG-0701-01'), "sxbm: [code.unknown] unknown item code")
fail('unknown_business_item', lambda a: a['spjy']['jyxm'].append('网红炸鸡制售'), "spjy.jyxm[2]: [code.unknown] unknown food business item")
fail('unknown_material_code', lambda a: a['cl'][0].update(clbm='01'), "cl[0].clbm: [code.unknown] unknown material code")
fail('unknown_id_type', lambda a: a['sqr'].update(zjlx='01'), "sqr.zjlx: [code.unknown] unknown id type")
fail('mobile_too_short', lambda a: a['sqr'].update(sjhm='1381234567'), "sqr.sjhm: [mobile.shape] 11 digits")
fail('missing_required_sections', lambda a: [a.pop('slxx'), a.pop('mbqy'), a['jycs'].pop('mj')], "slxx: [field.required] required\nmbqy: [field.required] required\njycs.mj: [field.required] required")
fail('no_materials', lambda a: a.update(cl=[]), "cl: [field.empty-array] at least one")
fail('target_in_another_province', lambda a: a.update(mbqy='310116'), "mbqy: [rule.no-jurisdiction] no jurisdiction")
fail('application_number_with_space', lambda a: a.update(sqbh='SH JS 0007'), "sqbh: [number.char] may hold only")
fail('empty_name', lambda a: a['sqr'].update(xm='  '), "sqr.xm: [field.empty] must not be empty")
def many(a):
    a['jyz']['tyshxydm']='92330482MA2JD0C80E'; a['sqr']['zjhm']='310116199203041218'; a['jycs']['xzqh']='999999'
    a['cl'][0]['sha256']='0'*64; a['jyz']['zczb']='1.23456789'; a['spjy']['wlxs']='2'; a['lxr']['sjhm']='+8613812345678'
fail('many_problems_reported_at_once', many, """jyz.tyshxydm: [uscc.check] expected 'D'
sqr.zjhm: [resident-id.check] expected '7'
jycs.xzqh: [division.unknown] not a known
cl[0].sha256: [digest.mismatch] does not match
jyz.zczb: [decimal.too-fine] at most 6
spjy.wlxs: [boolean.zj] must be
lxr.sjhm: [mobile.shape] 11 digits""")
fail('decision_granted_without_licence', lambda d: d.pop('zz'), "zz: [rule.licence-required] required when the licence is granted", zj_dec)
fail('decision_refused_with_licence', lambda d: d.update(jg='2'), "zz: [rule.licence-absent] must be absent", zj_dec)
fail('decision_unknown_result', lambda d: d.update(jg='4'), 'jg: [result.zj] must be "1"', zj_dec)
fail('decision_licence_number_format', lambda d: d['zz'].update(zzbh='JY2330482000001'), "zz.zzbh: [licence-no.shape] 'JY' followed by 14 digits", zj_dec)
fail('decision_validity_reversed', lambda d: d['zz'].update(yxqz='2021-11-26'), "zz.yxqz: [rule.validity-reversed] ends", zj_dec)
fail('decision_file_digest_mismatch', lambda d: d['zz']['dzzz'].update(sha256='f'*64), "zz.dzzz.sha256: [digest.mismatch] does not match", zj_dec)
fail('decision_bad_date', lambda d: d['zz'].update(yxqq='2026-02-30'), "zz.yxqq: [date.shape] not a date", zj_dec)
open(f'{D}/fail_not_json.json','w').write('{"sqbh": "SH-1", \n')
open(f'{D}/fail_not_json.expect','w').write('$: [json.invalid] not valid JSON\n')
open(f'{D}/fail_body_is_an_array.json','w').write('[{"sqbh": "SH-1"}]\n')
open(f'{D}/fail_body_is_an_array.expect','w').write('$: [json.not-object] must be a JSON object\n')
open(f'{D}/fail_duplicate_field.json','w').write(open(f'{SAMPLES}/zj-application.json').read().replace('"sqbh": "SH-JS-LX-20261120-0007",','"sqbh": "SH-JS-LX-20261120-0007",\n  "sqbh": "SH-JS-LX-20261120-0008",',1))
open(f'{D}/fail_duplicate_field.expect','w').write('sqbh: [field.duplicate] appears more than once\n')
