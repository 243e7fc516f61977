//! The intake form's fields in the clerk's vocabulary: each field's label as the form shows it
//! (面积), its section, and the paths both platforms give it (`jycs.mj`,
//! `/RemoteApply/Premises/Area`), so that a refusal, whichever platform's reader found it, is
//! shown under the right field and, where it is listed, named as the clerk knows it.
//!
//! The form (`pages.rs`) names its inputs by the Zhejiang path; this table is the one place
//! that says what the clerk reads for each. A test holds it to the form.

/// One field of the intake form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormField {
    /// The input's name: the Zhejiang path (`jycs.mj`).
    pub zj: &'static str,
    /// The same field in Shanghai's document (`/RemoteApply/Premises/Area`).
    pub sh: &'static str,
    /// The form's section (`经营场所`).
    pub section: &'static str,
    /// The form's label (`面积`).
    pub label: &'static str,
}

const fn row(
    zj: &'static str,
    sh: &'static str,
    section: &'static str,
    label: &'static str,
) -> FormField {
    FormField {
        zj,
        sh,
        section,
        label,
    }
}

/// Every field of the form, and the sections a refusal may name as a whole, in the form's
/// order.
pub const FIELDS: &[FormField] = &[
    row("sxbm", "/RemoteApply/ItemCode", "事项", "事项"),
    row("sqr.xm", "/RemoteApply/Applicant/Name", "申请人", "姓名"),
    row(
        "sqr.zjlx",
        "/RemoteApply/Applicant/IdType",
        "申请人",
        "证件类型",
    ),
    row(
        "sqr.zjhm",
        "/RemoteApply/Applicant/IdNumber",
        "申请人",
        "证件号码",
    ),
    row(
        "sqr.sjhm",
        "/RemoteApply/Applicant/Mobile",
        "申请人",
        "手机号码",
    ),
    row(
        "jyz.mc",
        "/RemoteApply/Operator/Name",
        "经营者",
        "经营者名称",
    ),
    row(
        "jyz.tyshxydm",
        "/RemoteApply/Operator/Uscc",
        "经营者",
        "统一社会信用代码",
    ),
    row(
        "jyz.ztlx",
        "/RemoteApply/Operator/EntityType",
        "经营者",
        "主体类型",
    ),
    row(
        "jyz.zczb",
        "/RemoteApply/Operator/RegisteredCapital",
        "经营者",
        "注册资本",
    ),
    row(
        "jyz.fddbr.xm",
        "/RemoteApply/Operator/LegalRep/Name",
        "经营者",
        "法定代表人／经营者",
    ),
    row(
        "jyz.fddbr.zjlx",
        "/RemoteApply/Operator/LegalRep/IdType",
        "经营者",
        "证件类型",
    ),
    row(
        "jyz.fddbr.zjhm",
        "/RemoteApply/Operator/LegalRep/IdNumber",
        "经营者",
        "证件号码",
    ),
    row(
        "jyz.zs",
        "/RemoteApply/Operator/Residence",
        "经营者",
        "住所",
    ),
    row(
        "jycs.xzqh",
        "/RemoteApply/Premises/DivisionCode",
        "经营场所",
        "所在县（市、区）",
    ),
    row(
        "jycs.xxdz",
        "/RemoteApply/Premises/Address",
        "经营场所",
        "详细地址",
    ),
    row("jycs.mj", "/RemoteApply/Premises/Area", "经营场所", "面积"),
    row("spjy", "/RemoteApply/FoodBusiness", "食品经营", "食品经营"),
    row(
        "spjy.ztyt",
        "/RemoteApply/FoodBusiness/MainFormat",
        "食品经营",
        "主体业态",
    ),
    row(
        "spjy.ztytbz",
        "/RemoteApply/FoodBusiness/FormatNote",
        "食品经营",
        "业态备注",
    ),
    row(
        "spjy.wlxs",
        "/RemoteApply/FoodBusiness/OnlineSales",
        "食品经营",
        "网络经营",
    ),
    row(
        "spjy.jyxm",
        "/RemoteApply/FoodBusiness/Items",
        "食品经营",
        "经营项目",
    ),
    row(
        "spjy.spaqgly.xm",
        "/RemoteApply/FoodBusiness/SafetyManager/Name",
        "食品经营",
        "食品安全管理人员",
    ),
    row(
        "spjy.spaqgly.zjhm",
        "/RemoteApply/FoodBusiness/SafetyManager/IdNumber",
        "食品经营",
        "身份证号码",
    ),
    row(
        "spjy.spaqgly.sjhm",
        "/RemoteApply/FoodBusiness/SafetyManager/Mobile",
        "食品经营",
        "手机号码",
    ),
    row("jyfw", "/RemoteApply/BusinessScope", "经营范围", "经营范围"),
    row(
        "mbqy",
        "/RemoteApply/Target/@region",
        "审批机关",
        "目标区域",
    ),
    row(
        "spjg",
        "/RemoteApply/Target/@authority",
        "审批机关",
        "审批机关",
    ),
    row("cl", "/RemoteApply/Materials", "申请材料", "申请材料"),
    row(
        "lxr.xm",
        "/RemoteApply/Contact/Name",
        "联系人与备注",
        "联系人",
    ),
    row(
        "lxr.sjhm",
        "/RemoteApply/Contact/Mobile",
        "联系人与备注",
        "联系人手机",
    ),
    row("bz", "/RemoteApply/Remark", "联系人与备注", "备注"),
    row(
        "slxx.sljgdm",
        "/RemoteApply/Acceptance/Office/@uscc",
        "受理信息",
        "受理机构",
    ),
];

/// The form's field for a problem's `path` in either platform's vocabulary: the field itself
/// (`jycs.mj`, `/RemoteApply/Premises/Area`) or the nearest enclosing one (`cl[0].sha256` and
/// `/RemoteApply/Materials/Material[1]/Digest` are 申请材料's).
pub fn field(path: &str) -> Option<&'static FormField> {
    let mut at = path;
    loop {
        if let Some(f) = FIELDS.iter().find(|f| f.zj == at || f.sh == at) {
            return Some(f);
        }
        at = enclosing(at)?;
    }
}

/// `path` without its last step (`cl[0].sha256` → `cl[0]` → `cl`; `/A/B[1]` → `/A/B` → `/A`).
fn enclosing(path: &str) -> Option<&str> {
    if let Some(open) = path.strip_suffix(']').and_then(|p| p.rfind('[')) {
        return Some(&path[..open]);
    }
    let cut = path.rfind(['.', '/'])?;
    (cut > 0).then(|| &path[..cut])
}

/// The form's label for `path` (`面积`), if the form has the field.
pub fn label(path: &str) -> Option<&'static str> {
    field(path).map(|f| f.label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_platforms_paths_find_the_forms_field() {
        assert_eq!(label("jycs.mj"), Some("面积"));
        assert_eq!(label("/RemoteApply/Premises/Area"), Some("面积"));
        assert_eq!(field("cl[3].sha256").map(|f| f.zj), Some("cl"));
        assert_eq!(
            field("/RemoteApply/Materials/Material[2]/Digest").map(|f| f.zj),
            Some("cl")
        );
        assert_eq!(
            field("/RemoteApply/FoodBusiness/Items/Item[1]/@code").map(|f| f.zj),
            Some("spjy.jyxm")
        );
        assert_eq!(field("spjy.jyxm[0]").map(|f| f.label), Some("经营项目"));
        assert_eq!(label("$"), None);
        assert_eq!(label("/"), None);
    }

    /// Every input of the table is the form's, with the label the form shows (the rows of
    /// whole sections and of what the server fills in are not inputs).
    #[test]
    fn the_table_is_the_forms() {
        let page = include_str!("pages.rs");
        let not_inputs = ["sxbm", "spjy", "cl", "slxx.sljgdm"];
        for f in FIELDS.iter().filter(|f| !not_inputs.contains(&f.zj)) {
            assert!(
                page.contains(&format!("\"{}\"", f.zj)),
                "{} is not a field of the form",
                f.zj
            );
            assert!(
                page.contains(&format!("\"{}\"", f.label))
                    || page.contains(&format!(">{}<", f.label)),
                "the form does not label a field {}",
                f.label
            );
        }
    }
}
