#!/usr/bin/env python3
"""Writes the pairs in this directory: the same content in both platforms' formats, each
Shanghai document written from its Zhejiang twin by following the Shanghai interface document
(checked first against the shared sample pair). Run: `python3 conformance/pairs/generate.py`.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from casegen import *  # noqa: E402,F403

from xml.sax.saxutils import escape, quoteattr
import os
P = os.path.dirname(os.path.abspath(__file__))
IDT={'111':'01','414':'03','516':'04','511':'05','553':'06'}
ENT={'个体工商户':'GT','有限责任公司':'LLC','有限责任公司（自然人独资）':'LLC-NP','股份有限公司':'JSC'}
ITEM={'330000-SCJG-SPJY-001':'SH-SCJG-0701-01','330000-SCJG-SPJY-002':'SH-SCJG-0701-02','330000-SCJG-SPJY-003':'SH-SCJG-0701-03','330000-SCJG-DJ-101':'SH-SCJG-0101-GT','330000-SCJG-DJ-201':'SH-SCJG-0101-LLC'}
FMT={'1':('FS','食品销售经营者'),'2':('CY','餐饮服务经营者'),'3':('ST','集中用餐单位食堂')}
FI={'预包装食品销售（含冷藏冷冻食品）':'S01','预包装食品销售（不含冷藏冷冻食品）':'S02','散装食品销售（含冷藏冷冻食品）':'S03','散装食品销售（不含冷藏冷冻食品）':'S04','特殊食品销售':'S05','热食类食品制售':'C01','冷食类食品制售':'C02','生食类食品制售':'C03','半成品制售':'C04','自制饮品制售':'C05','其他类食品制售':'C99'}
def yuan(wan):
    i,_,f=wan.partition('.'); f=(f+'000000')[:6]; fen=int(i)*1000000+int(f); return f'{fen//100}.{fen%100:02d}'
def t(s): return s.replace(' ','T')+'+08:00'
def b64digest(h): return base64.b64encode(bytes.fromhex(h)).decode()
def e(tag, text, ind): return f'{ind}<{tag}>{escape(text)}</{tag}>\n'
def sh_app(a):
    o='<?xml version="1.0" encoding="UTF-8"?>\n<RemoteApply xmlns="urn:sh-ywtb:remote-accept:1.3">\n'
    i='  '; o+=e('ApplyNo',a['sqbh'],i)+e('ItemCode',ITEM[a['sxbm']],i)
    s=a['sqr']; o+=f'{i}<Applicant>\n'+e('Name',s['xm'],i*2)+e('IdType',IDT[s['zjlx']],i*2)+e('IdNumber',s['zjhm'],i*2)+e('Mobile',s['sjhm'],i*2)+f'{i}</Applicant>\n'
    j=a['jyz']; o+=f'{i}<Operator>\n'+e('Name',j['mc'],i*2)
    if 'tyshxydm' in j: o+=e('Uscc',j['tyshxydm'],i*2)
    o+=e('EntityType',ENT[j['ztlx']],i*2); f=j['fddbr']
    o+=f'{i*2}<LegalRep>\n'+e('Name',f['xm'],i*3)+e('IdType',IDT[f['zjlx']],i*3)+e('IdNumber',f['zjhm'],i*3)+f'{i*2}</LegalRep>\n'
    if 'zczb' in j: o+=f'{i*2}<RegisteredCapital currency="CNY">{yuan(j["zczb"])}</RegisteredCapital>\n'
    o+=e('Residence',j['zs'],i*2)+f'{i}</Operator>\n'
    c=a['jycs']; o+=f'{i}<Premises>\n'+e('DivisionCode',c['xzqh'],i*2)+e('Address',c['xxdz'],i*2)+e('Area',c['mj'],i*2)+f'{i}</Premises>\n'
    if 'spjy' in a:
        s=a['spjy']; code,name=FMT[s['ztyt']]
        o+=f'{i}<FoodBusiness>\n{i*2}<MainFormat code="{code}">{name}</MainFormat>\n'
        if 'ztytbz' in s: o+=e('FormatNote',s['ztytbz'],i*2)
        o+=f'{i*2}<Items>\n'+''.join(f'{i*3}<Item code="{FI[x]}">{x}</Item>\n' for x in s['jyxm'])+f'{i*2}</Items>\n'
        m=s['spaqgly']; o+=f'{i*2}<SafetyManager>\n'+e('Name',m['xm'],i*3)+e('IdNumber',m['zjhm'],i*3)+e('Mobile',m['sjhm'],i*3)+f'{i*2}</SafetyManager>\n'
        o+=e('OnlineSales','true' if s['wlxs']=='1' else 'false',i*2)+f'{i}</FoodBusiness>\n'
    if 'jyfw' in a: o+=e('BusinessScope',a['jyfw'],i)
    o+=f'{i}<Materials>\n'
    for m in a['cl']:
        o+=f'{i*2}<Material code="{m["clbm"][1:]}">\n'+e('Title',m['clmc'],i*3)+e('FileName',m['wjm'],i*3)+e('MimeType',m['wjlx'],i*3)
        o+=f'{i*3}<Digest algorithm="SHA-256">{b64digest(m["sha256"])}</Digest>\n'+e('Content',m['nr'],i*3)+f'{i*2}</Material>\n'
    o+=f'{i}</Materials>\n'
    s=a['slxx']; o+=f'{i}<Acceptance>\n{i*2}<Office uscc="{s["sljgdm"]}">{escape(s["sljg"])}</Office>\n'+e('Clerk',s['slr'],i*2)+e('AcceptedAt',t(s['slsj']),i*2)+f'{i}</Acceptance>\n'
    o+=f'{i}<Target region="{a["mbqy"]}" authority={quoteattr(a["spjg"])}/>\n'
    if 'lxr' in a: o+=f'{i}<Contact>\n'+e('Name',a['lxr']['xm'],i*2)+e('Mobile',a['lxr']['sjhm'],i*2)+f'{i}</Contact>\n'
    if 'bz' in a: o+=e('Remark',a['bz'],i)
    if a.get('kzxx'):
        o+=f'{i}<Extensions>\n'+''.join(f'{i*2}<Field name={quoteattr(k)}>{escape(v)}</Field>\n' for k,v in sorted(a['kzxx'].items()))+f'{i}</Extensions>\n'
    return o+'</RemoteApply>\n'
def sh_dec(d):
    i='  '; res={'1':'GRANTED','2':'REFUSED','3':'CORRECTION'}[d['jg']]
    note=(d.get('kzxx') or {}).get('~sh:Result')
    o='<?xml version="1.0" encoding="UTF-8"?>\n<RemoteDecision xmlns="urn:sh-ywtb:remote-accept:1.3">\n'+e('ApplyNo',d['sqbh'],i)
    o+= f'{i}<Result code="{res}">{escape(note)}</Result>\n' if note else f'{i}<Result code="{res}"/>\n'
    o+=e('Opinion',d['yj'],i)+e('Officer',d['spr'],i)+e('DecidedAt',t(d['spsj']),i)
    if 'zz' in d:
        z=d['zz']; o+=f'{i}<License>\n'+e('LicenseNo',z['zzbh'],i*2)+e('LicenseName',z['zzmc'],i*2)+e('ValidFrom',z['yxqq'],i*2)+e('ValidTo',z['yxqz'],i*2)+e('IssuedBy',z['fzjg'],i*2)+e('IssuedOn',z['fzrq'],i*2)
        if 'tyshxydm' in z: o+=e('Uscc',z['tyshxydm'],i*2)
        f=z['dzzz']; o+=f'{i*2}<File>\n'+e('FileName',f['wjm'],i*3)+e('MimeType',f['wjlx'],i*3)+e('Digest',b64digest(f['sha256']),i*3)+e('Content',f['nr'],i*3)+f'{i*2}</File>\n{i}</License>\n'
    return o+'</RemoteDecision>\n'
def pair(name, doc, dec=False):
    os.makedirs(f'{P}/{name}', exist_ok=True)
    dump(f'{P}/{name}/zj.json', doc)
    open(f'{P}/{name}/sh.xml','w').write(sh_dec(doc) if dec else sh_app(doc))
# self-check of the emitter against the shared samples
assert sh_app(zj_app())==open(f'{SAMPLES}/sh-application.xml').read(), 'emitter drifts from the sample'
a=zj_app(); a['sqbh']='ZJ-PH-GC-20261121-0031'; a['sxbm']='330000-SCJG-DJ-201'; del a['spjy']; del a['jyz']['tyshxydm']
a['jyz'].update({'mc':'平湖市广陈镇阿怡餐饮管理有限公司','ztlx':'有限责任公司','zczb':'123.456789'}); a['jyfw']='餐饮管理；食品销售（仅销售预包装食品）；外卖递送服务'
pair('registration_llc_capital_in_fen', a)
a=zj_app(); a['jyz']['mc']='平湖市广陈镇𠮷祥&<小吃>店'; a['sqr']['xm']='𡃁子怡'; a['jyz']['fddbr']['xm']='𡃁子怡'
a['kzxx']={'ckbh':'JS-2026-118','来源':'金山区 廊下镇 & 跨省专窗'}
a['spjy']={'ztyt':'1','ztytbz':'中央厨房','jyxm':['预包装食品销售（含冷藏冷冻食品）','特殊食品销售'],'spaqgly':a['spjy']['spaqgly'],'wlxs':'1'}
a['sqr'].update({'zjlx':'516','zjhm':'H1234567801'})
pair('food_sales_rare_characters_and_extensions', a)
d=zj_dec(); d.update({'jg':'3','yj':'请补正经营场所使用证明。'}); del d['zz']; d['kzxx']={'~sh:Result':'需补正 1 项材料'}
pair('decision_correction_with_result_note', d, True)
d=zj_dec(); sha,nr=file_of(b'OFD business licence sample'); d['sqbh']='TB-20261121-000042'
d['zz']={'zzbh':'91330482MA2B3C4D5Y','zzmc':'营业执照','yxqq':'2026-11-27','yxqz':'2076-11-26','fzjg':'平湖市市场监督管理局','fzrq':'2026-11-27','tyshxydm':uscc('91330482MA2B3C4D5'),'dzzz':{'wjm':'yyzz.ofd','wjlx':'application/ofd','sha256':sha,'nr':nr}}
pair('decision_business_licence_granted', d, True)
# Extension names that look like the gateway's own bookkeeping, and values that look like JSON:
# both interface documents allow any name and any text in the extension area, so all of them
# are carried as they stand (issue 17, finding 6).
a=zj_app(); a['sqbh']='ZJ-PH-GC-20261121-0032'
a['kzxx']={'zj:lsh':'{}','zj:sqbh':'[]','sh:window':'1','sh:Result':'true','~':'null','~~x':'~','~x':'"s"'}
pair('extension_names_like_the_gateways', a)
